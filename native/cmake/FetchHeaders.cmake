# vg_fetch_headers(NAME INCLUDE_VAR FETCH_OPTION URL PROBE): a header-only dependency's include folder. INCLUDE_VAR (a
# cache path) names it; when it has no PROBE header and FETCH_OPTION is ON, the release archive at URL is downloaded
# with FetchContent and INCLUDE_VAR set to its include/ (SOURCE_SUBDIR names a folder without a CMakeLists.txt: the
# archive is unpacked, nothing of it is built). The caller decides what a missing header means.
include(FetchContent)
function(vg_fetch_headers name include_var fetch_option url probe)
  if(NOT EXISTS "${${include_var}}/${probe}" AND ${fetch_option})
    FetchContent_Declare(${name} URL "${url}" SOURCE_SUBDIR include DOWNLOAD_EXTRACT_TIMESTAMP TRUE)
    FetchContent_MakeAvailable(${name})
    set(${include_var} "${${name}_SOURCE_DIR}/include" CACHE PATH "${name} include directory" FORCE)
  endif()
endfunction()
