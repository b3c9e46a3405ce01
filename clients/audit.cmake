# renraku-audit: the auditor's program (issue 6). rk_audit holds the checks
# so that tests reach them without the CLI; renraku_audit.c is thin.
add_library(rk_audit STATIC ${CMAKE_CURRENT_LIST_DIR}/audit.c
            ${CMAKE_CURRENT_LIST_DIR}/audit_compare.c)
target_include_directories(rk_audit PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(rk_audit PUBLIC rk_relay rk_keys rk_proto rk_common
                      PkgConfig::JANSSON Threads::Threads)

add_executable(renraku-audit ${CMAKE_CURRENT_LIST_DIR}/renraku_audit.c)
target_link_libraries(renraku-audit PRIVATE rk_audit)
