# add_cmocka_test(NAME unit.proto.envelope SOURCES a.c b.c LIBS lib ...)
# Builds one cmocka executable and registers it with CTest under NAME, so the
# test summary says what kind of test it is and which area it covers.
function(add_cmocka_test)
    cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS" ${ARGN})
    string(REPLACE "." "_" exe "test_${T_NAME}")
    add_executable(${exe} ${T_SOURCES})
    target_link_libraries(${exe} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
    target_compile_definitions(${exe} PRIVATE
        RK_VECTORS_DIR="${RK_VECTORS_DIR}"
        RK_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    add_test(NAME ${T_NAME} COMMAND ${exe})
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 300)
    endif()
    set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT})
endfunction()

# add_fuzz_target(NAME envelope SOURCE fuzz_envelope.c LIBS ...)
# With ENABLE_FUZZ (clang) it is a libFuzzer binary; otherwise a small driver
# replays the committed corpus tests/fuzz/corpus/<NAME>/ as CTest fuzz.<NAME>.
function(add_fuzz_target)
    cmake_parse_arguments(F "" "NAME;SOURCE" "LIBS" ${ARGN})
    set(corpus ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${F_NAME})
    if(ENABLE_FUZZ)
        add_executable(fuzz_${F_NAME} ${F_SOURCE})
        target_compile_options(fuzz_${F_NAME} PRIVATE -fsanitize=fuzzer)
        target_link_options(fuzz_${F_NAME} PRIVATE -fsanitize=fuzzer)
        target_link_libraries(fuzz_${F_NAME} PRIVATE ${F_LIBS})
    else()
        add_executable(fuzz_${F_NAME} ${F_SOURCE}
                       ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
        target_link_libraries(fuzz_${F_NAME} PRIVATE ${F_LIBS})
        add_test(NAME fuzz.${F_NAME} COMMAND fuzz_${F_NAME} ${corpus})
        set_tests_properties(fuzz.${F_NAME} PROPERTIES TIMEOUT 300)
    endif()
endfunction()
