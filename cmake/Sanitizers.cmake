# -DARCA_SANITIZE=ON builds everything with ASan + UBSan (use with CMAKE_BUILD_TYPE=Debug).
if(ARCA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
