#!/bin/bash
# Helpers for the TIPC scripts: parse "key:value" lines of train_infer_python.txt and log results.

# "key:value" -> key / value (only the first ':' splits, so values may hold ':').
func_parser_key() { echo "${1%%:*}"; }
func_parser_value() { echo "${1#*:}"; }

# The value for MODE from "mode1=v1|mode2=v2" (a value without '=' applies to every mode).
func_value_for_mode() {
    local value=$1 mode=$2 item
    if [[ "${value}" != *"="* ]]; then echo "${value}"; return; fi
    IFS='|' read -ra items <<< "${value}"
    for item in "${items[@]}"; do
        if [[ "${item%%=*}" == "${mode}" ]]; then echo "${item#*=}"; return; fi
    done
    echo "null"
}

# "--key value" unless the key or value is null/empty.
func_set_params() {
    local key=$1 value=$2
    if [[ -z "${key}" || "${key}" == "null" || -z "${value}" || "${value}" == "null" ]]; then echo ""; else echo "${key} ${value}"; fi
}

# Run a command, log it and its status; the status line format is what TIPC log readers grep for.
func_run_and_log() {
    local cmd=$1 log_file=$2 step_log=$3
    echo "+ ${cmd}" >> "${step_log}"
    eval "${cmd}" >> "${step_log}" 2>&1
    local status=$?
    local line
    if [[ ${status} -eq 0 ]]; then
        line=" Run successfully with command - ${cmd}!"
    else
        line=" Run failed with command - ${cmd}! (exit ${status}, log: ${step_log})"
    fi
    echo "${line}" >> "${log_file}"          # plain text in the log, colour on the console
    echo -e "\033[33m${line}\033[0m"
    return ${status}
}
