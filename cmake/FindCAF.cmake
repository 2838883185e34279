# FindCAF: locates the C++ Actor Framework 0.17 (Debian ships no CMake package config for it).
#
# Components: core (always), io, openssl.
# Defines imported targets CAF::core, CAF::io, CAF::openssl and CAF_VERSION.

find_path(CAF_INCLUDE_DIR NAMES caf/config.hpp)
find_library(CAF_CORE_LIBRARY NAMES caf_core)

if(CAF_INCLUDE_DIR AND EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_version_line
       REGEX "^#define CAF_VERSION [0-9]+")
  string(REGEX MATCH "[0-9]+" _caf_version_num "${_caf_version_line}")
  if(_caf_version_num)
    math(EXPR _caf_major "${_caf_version_num} / 10000")
    math(EXPR _caf_minor "(${_caf_version_num} / 100) % 100")
    math(EXPR _caf_patch "${_caf_version_num} % 100")
    set(CAF_VERSION "${_caf_major}.${_caf_minor}.${_caf_patch}")
  endif()
endif()

set(_caf_required_vars CAF_INCLUDE_DIR CAF_CORE_LIBRARY)
foreach(_comp IN LISTS CAF_FIND_COMPONENTS)
  if(NOT _comp STREQUAL "core")
    find_library(CAF_${_comp}_LIBRARY NAMES caf_${_comp})
    if(CAF_${_comp}_LIBRARY)
      set(CAF_${_comp}_FOUND TRUE)
    endif()
    if(CAF_FIND_REQUIRED_${_comp})
      list(APPEND _caf_required_vars CAF_${_comp}_LIBRARY)
    endif()
  endif()
endforeach()
set(CAF_core_FOUND TRUE)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF
  REQUIRED_VARS ${_caf_required_vars}
  VERSION_VAR CAF_VERSION
  HANDLE_COMPONENTS)

if(CAF_FOUND AND NOT TARGET CAF::core)
  find_package(Threads REQUIRED)
  add_library(CAF::core UNKNOWN IMPORTED)
  set_target_properties(CAF::core PROPERTIES
    IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
  foreach(_comp io openssl)
    if(CAF_${_comp}_LIBRARY)
      add_library(CAF::${_comp} UNKNOWN IMPORTED)
      set_target_properties(CAF::${_comp} PROPERTIES
        IMPORTED_LOCATION "${CAF_${_comp}_LIBRARY}"
        INTERFACE_LINK_LIBRARIES CAF::core)
    endif()
  endforeach()
endif()
mark_as_advanced(CAF_INCLUDE_DIR CAF_CORE_LIBRARY CAF_io_LIBRARY CAF_openssl_LIBRARY)
