# CUTLASS (header-only, BSD-3) is never committed. VG_CUTLASS_INCLUDE names its include/ folder; when that has no
# cutlass/cutlass.h and VG_FETCH_CUTLASS is ON (the default), its release archive is downloaded with FetchContent
# (machines without network carry the headers in /.third_party, as tools/device/run.sh does). Without the headers the
# library builds without its CUTLASS kernels (VG_HAVE_CUTLASS 0: their entry points answer VG_ERROR_NOT_SUPPORTED and
# the engine logs the two-pass path it takes instead); the configure step says so.
set(VG_CUTLASS_INCLUDE "${CMAKE_CURRENT_SOURCE_DIR}/../.third_party/cutlass/include" CACHE PATH "CUTLASS include directory")
option(VG_FETCH_CUTLASS "download CUTLASS's headers when VG_CUTLASS_INCLUDE has none" ON)
set(VG_CUTLASS_URL "https://github.com/NVIDIA/cutlass/archive/refs/tags/v4.7.0.tar.gz"
    CACHE STRING "CUTLASS release archive fetched when its headers are missing")

include(${CMAKE_CURRENT_LIST_DIR}/FetchHeaders.cmake)
vg_fetch_headers(cutlass VG_CUTLASS_INCLUDE VG_FETCH_CUTLASS "${VG_CUTLASS_URL}" cutlass/cutlass.h)
if(EXISTS "${VG_CUTLASS_INCLUDE}/cutlass/cutlass.h")
  set(VG_HAVE_CUTLASS 1)
else()
  set(VG_HAVE_CUTLASS 0)
  message(WARNING "CUTLASS's headers not found in VG_CUTLASS_INCLUDE=${VG_CUTLASS_INCLUDE}: the library is built without "
                  "the fused FP8 GEMM + GELU + quantize kernel (set VG_CUTLASS_INCLUDE, or enable VG_FETCH_CUTLASS)")
endif()
