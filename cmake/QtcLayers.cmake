# The folder map is the dependency map, and the build enforces it.
#
# Every layer is one folder (not its subfolders) and one static library:
#
#   qtc_layer(<target> <folder> [DEPENDS <lower layers...>] [LIBS <external libraries...>])
#
# A layer's headers are reachable only through an include root of its own,
# <build>/layers/<target>/<folder>/<header>, made of one symbolic link per header of that folder.
# No target has the source tree itself on its include path, so a file can include a header only
# from its own layer or from a layer its target links (DEPENDS, transitively): an include of a
# higher layer, or of a sibling it does not depend on, is "No such file or directory" at compile
# time. tests/layering/ shows the build refusing one; tools/check-layers.py says the same of the
# source tree without building it.
function(qtc_layer target folder)
  cmake_parse_arguments(L "" "" "DEPENDS;LIBS" ${ARGN})
  set(src "${PROJECT_SOURCE_DIR}/${folder}")
  set(root "${CMAKE_BINARY_DIR}/layers/${target}")
  file(REMOVE_RECURSE "${root}")
  file(MAKE_DIRECTORY "${root}/${folder}")
  file(GLOB headers CONFIGURE_DEPENDS "${src}/*.hpp")
  foreach(h IN LISTS headers)
    get_filename_component(name "${h}" NAME)
    file(CREATE_LINK "${h}" "${root}/${folder}/${name}" SYMBOLIC)
  endforeach()
  file(GLOB sources CONFIGURE_DEPENDS "${src}/*.cpp")
  if(sources)
    add_library(${target} STATIC ${sources})
    target_include_directories(${target} PUBLIC "${root}")
    target_compile_options(${target} PRIVATE ${QTC_WARNINGS})
    target_link_libraries(${target} PUBLIC ${L_DEPENDS} ${L_LIBS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE "${root}")
    target_link_libraries(${target} INTERFACE ${L_DEPENDS} ${L_LIBS})
  endif()
  set_property(GLOBAL APPEND PROPERTY QTC_LAYERS ${target})
endfunction()
