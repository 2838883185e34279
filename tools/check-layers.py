#!/usr/bin/env python3
"""Checks that every file includes only from its own layer or from a layer below it.

The layers and what each may use are read from the qtc_layer(...) calls in CMakeLists.txt (the one
table of them; cmake/QtcLayers.cmake explains the build's own enforcement). A layer is one folder,
not its subfolders. Files in tools/ may include any layer the node is made of (not the simulator,
unless the tool's folder is listed in SIMULATION_USERS). Prints one line per violation,
"file:line: includes X (layer A) from layer B, which does not depend on it", and exits 1 if there
is any; exits 0 and prints a summary otherwise.

Usage: check-layers.py [--root DIR]
"""
import argparse
import os
import re
import sys

LAYER_CALL = re.compile(r"qtc_layer\(\s*([\w]+)\s+([\w/]+)([^)]*)\)", re.S)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SIMULATION = "qtc_sim"
SIMULATION_USERS = ("tools/qtc-sim",)  # tools/ folders that link the simulator


def read_layers(root):
    text = open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8").read()
    text = re.sub(r"#[^\n]*", "", text)
    layers = {}
    for target, folder, rest in LAYER_CALL.findall(text):
        words = rest.split()
        deps, mode = [], None
        for w in words:
            if w in ("DEPENDS", "LIBS"):
                mode = w
            elif mode == "DEPENDS":
                deps.append(w)
        layers[target] = {"folder": folder, "deps": deps}
    if not layers:
        sys.exit(f"{root}/CMakeLists.txt: no qtc_layer(...) calls found")
    for target, layer in layers.items():
        for d in layer["deps"]:
            if d not in layers:
                sys.exit(f"CMakeLists.txt: layer {target} depends on {d}, which is no layer")
    return layers


def closure(layers, target):
    seen, todo = set(), [target]
    while todo:
        t = todo.pop()
        if t in seen:
            continue
        seen.add(t)
        todo.extend(layers[t]["deps"])
    return seen


def source_files(folder):
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.endswith((".hpp", ".cpp")) and os.path.isfile(os.path.join(folder, f)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    root = os.path.abspath(parser.parse_args().root)
    layers = read_layers(root)
    by_folder = {l["folder"]: t for t, l in layers.items()}
    production = set().union(*(closure(layers, t) for t in layers if t != SIMULATION)) - {SIMULATION}

    # (file, the layers it may include from, its own layer's name for messages)
    checks = []
    for target, layer in layers.items():
        allowed = closure(layers, target)
        for f in source_files(os.path.join(root, layer["folder"])):
            checks.append((f, allowed, target))
    for dirpath, _, files in os.walk(os.path.join(root, "tools")):
        rel = os.path.relpath(dirpath, root)
        allowed = production | ({SIMULATION} if rel in SIMULATION_USERS else set())
        for f in sorted(files):
            if f.endswith((".hpp", ".cpp")):
                checks.append((os.path.join(dirpath, f), allowed, "tools"))

    problems, includes = [], 0
    for path, allowed, own in checks:
        here = os.path.dirname(path)
        with open(path, encoding="utf-8") as src:
            for number, line in enumerate(src, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                includes += 1
                name = m.group(1)
                where = f"{os.path.relpath(path, root)}:{number}"
                folder = os.path.dirname(name)
                if folder in by_folder:
                    layer = by_folder[folder]
                    if layer not in allowed:
                        problems.append(f"{where}: includes {name} (layer {layer}) from layer "
                                        f"{own}, which does not depend on it")
                elif own == "tools" and (os.path.exists(os.path.join(here, name))
                                         or name.startswith("support/")):
                    continue  # a tool's own files, or the tests' process helpers
                else:
                    problems.append(f"{where}: includes {name}, which is in no layer "
                                    "(include headers by their path from the project root)")
    for p in problems:
        print(p)
    if problems:
        print(f"layer check: {len(problems)} violation(s)")
        return 1
    print(f"layer check: {len(checks)} files, {includes} includes, {len(layers)} layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
