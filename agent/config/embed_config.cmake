# Writes the default agent.yaml as a C++ raw string literal (run at build time).
file(READ "${IN}" content)
file(WRITE "${OUT}.tmp" "// Generated from etc/agent.yaml: do not edit.\nR\"cronitor_yaml(${content})cronitor_yaml\"\n")
file(RENAME "${OUT}.tmp" "${OUT}")
