# Warnings for Arca's own targets: call arca_warnings(target).
function(arca_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                           -Wimplicit-fallthrough -Wno-missing-field-initializers)
  if(ARCA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
