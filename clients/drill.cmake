# renraku-drill's pure half: scenarios, MSEL import and the report, as a
# library the runner and the tests link. No relay, no sockets.
add_library(rk_drill STATIC ${CMAKE_CURRENT_LIST_DIR}/drill.c
                            ${CMAKE_CURRENT_LIST_DIR}/drill_report.c)
target_include_directories(rk_drill PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(rk_drill PUBLIC rk_proto rk_common PkgConfig::JANSSON m)
