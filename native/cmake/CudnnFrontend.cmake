# cudnn-frontend (header-only, MIT) is never committed. CUDNN_FRONTEND_INCLUDE names its include/ folder; when that has
# no cudnn_frontend.h and VG_FETCH_CUDNN_FRONTEND is ON (the default), its release archive is downloaded with
# FetchContent (machines without network carry the headers in /.third_party, as tools/device/run.sh does).
set(CUDNN_FRONTEND_INCLUDE "${CMAKE_CURRENT_SOURCE_DIR}/../.third_party/cudnn-frontend/include"
    CACHE PATH "cudnn-frontend include directory")
option(VG_FETCH_CUDNN_FRONTEND "download cudnn-frontend's headers when CUDNN_FRONTEND_INCLUDE has none" ON)
set(VG_CUDNN_FRONTEND_URL "https://github.com/NVIDIA/cudnn-frontend/archive/refs/tags/v1.16.0.tar.gz"
    CACHE STRING "cudnn-frontend release archive fetched when its headers are missing")

include(${CMAKE_CURRENT_LIST_DIR}/FetchHeaders.cmake)
vg_fetch_headers(cudnn_frontend CUDNN_FRONTEND_INCLUDE VG_FETCH_CUDNN_FRONTEND "${VG_CUDNN_FRONTEND_URL}" cudnn_frontend.h)
if(NOT EXISTS "${CUDNN_FRONTEND_INCLUDE}/cudnn_frontend.h")
  message(FATAL_ERROR "cudnn_frontend.h not found in CUDNN_FRONTEND_INCLUDE=${CUDNN_FRONTEND_INCLUDE} "
                      "(set CUDNN_FRONTEND_INCLUDE to cudnn-frontend's include/, or enable VG_FETCH_CUDNN_FRONTEND)")
endif()
