# install.cmake - what `cmake --install` exports for C users (included by the
# top-level CMakeLists.txt after engine/): the CMake package
# (LIBDIR/cmake/lmsim: lmsimConfig.cmake, its version file and the exported
# target lmsim::lmsim) and the pkg-config file LIBDIR/pkgconfig/lmsim.pc.
# Both are relocatable: they find the prefix from their own location.
# tests/install/ builds a program against an installed tree both ways.

include(CMakePackageConfigHelpers)
set(LM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lmsim)

install(EXPORT lmsimTargets NAMESPACE lmsim:: DESTINATION ${LM_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lmsimConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lmsimConfig.cmake INSTALL_DESTINATION ${LM_CMAKE_DIR})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lmsimConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/lmsimConfig.cmake ${PROJECT_BINARY_DIR}/lmsimConfigVersion.cmake
        DESTINATION ${LM_CMAKE_DIR})

# pkg-config. The static library needs its dependencies on every link, so
# they are public (Requires, Libs: `pkg-config --libs lmsim` is enough); a
# shared build (-DBUILD_SHARED_LIBS=ON) lists them as private.
get_filename_component(LM_PC_HDF5_HL_DIR ${HDF5_HL_LIBRARY} DIRECTORY)
get_filename_component(LM_PC_HDF5_HL_NAME ${HDF5_HL_LIBRARY} NAME_WE)
string(REGEX REPLACE "^lib" "" LM_PC_HDF5_HL_NAME ${LM_PC_HDF5_HL_NAME})
set(LM_PC_DEPS_LIBS "-L${LM_PC_HDF5_HL_DIR} -l${LM_PC_HDF5_HL_NAME} -lm ${OpenMP_C_FLAGS}")
get_target_property(LM_LIB_TYPE lmsim TYPE)
if(LM_LIB_TYPE STREQUAL "STATIC_LIBRARY")
  set(LM_PC_REQUIRES "Requires: gsl hdf5-serial libconfig libdeflate zlib")
  set(LM_PC_LIBS "Libs: -L\${libdir} -llmsim ${LM_PC_DEPS_LIBS}")
else()
  set(LM_PC_REQUIRES "Requires.private: gsl hdf5-serial libconfig libdeflate zlib")
  set(LM_PC_LIBS "Libs: -L\${libdir} -llmsim\nLibs.private: ${LM_PC_DEPS_LIBS}")
endif()
# ${pcfiledir} is LIBDIR/pkgconfig: as many '..' as it has components.
if(IS_ABSOLUTE ${CMAKE_INSTALL_LIBDIR})
  message(FATAL_ERROR "lmsim.pc needs a relative CMAKE_INSTALL_LIBDIR")
endif()
string(REGEX REPLACE "[^/]+" ".." LM_PC_PREFIX_FROM_PCDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
configure_file(${PROJECT_SOURCE_DIR}/cmake/lmsim.pc.in ${PROJECT_BINARY_DIR}/lmsim.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/lmsim.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
