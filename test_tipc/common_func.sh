#!/bin/bash
# Helpers for the TIPC scripts: parse "key:value" lines of train_infer_python.txt and log results.

# Where the scripts write: outputs and logs, and the prepared data (relative to the working
# directory unless absolute). The txt files and the chain configs name the default data folder
# (test_tipc/data); with another TIPC_DATA_DIR the scripts rewrite those paths (func_data_path,
# func_data_opts).
TIPC_OUTPUT_DIR=${TIPC_OUTPUT_DIR:-test_tipc/output}
TIPC_DATA_DIR=${TIPC_DATA_DIR:-test_tipc/data}
TIPC_DEFAULT_DATA_DIR=test_tipc/data

# A path under the default data folder, moved under TIPC_DATA_DIR.
func_data_path() {
    local path=$1
    if [[ "${path}" == "${TIPC_DEFAULT_DATA_DIR}/"* || "${path}" == "./${TIPC_DEFAULT_DATA_DIR}/"* ]]; then
        path=${TIPC_DATA_DIR}/${path#*${TIPC_DEFAULT_DATA_DIR}/}
    fi
    echo "${path}"
}

# "--opts" pointing the configs' datasets at TIPC_DATA_DIR (nothing with the default folder).
func_data_opts() {
    if [[ "${TIPC_DATA_DIR}" == "${TIPC_DEFAULT_DATA_DIR}" ]]; then echo ""; return; fi
    local root=${TIPC_DATA_DIR}/cityscapes
    echo "--opts train_dataset.dataset_root=${root} val_dataset.dataset_root=${root}"
}

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
    echo "${line}" >> "${log_file}"          # plain text in the log
    if [[ -t 1 ]]; then echo -e "\033[33m${line}\033[0m"; else echo "${line}"; fi  # colour: terminal only
    return ${status}
}

# The model whole_infer starts from (it does not train): $TIPC_MODEL_PATH, else the txt's
# infer_model line (line 37), else its --model_path line (line 10, the pretrained weights).
# Accepted: a model.pdparams checkpoint, a folder holding model.pdparams (e.g. best_model/), or an
# exported folder holding deploy.yaml (used as is). Prints the path; without a usable one, says
# what is needed on stderr and returns 1.
func_whole_infer_model() {
    local txt=$1 model_name infer_model pretrained path origin
    model_name=$(func_parser_value "$(sed -n 2p "${txt}")")
    infer_model=$(func_parser_value "$(sed -n 37p "${txt}")")
    pretrained=$(func_parser_value "$(sed -n 10p "${txt}")")
    if [[ -n "${TIPC_MODEL_PATH}" ]]; then
        path=${TIPC_MODEL_PATH}; origin="TIPC_MODEL_PATH"
    elif [[ -n "${infer_model}" && "${infer_model}" != "null" ]]; then
        path=${infer_model}; origin="the infer_model line (37) of ${txt}"
    elif [[ -n "${pretrained}" && "${pretrained}" != "null" ]]; then
        path=${pretrained}; origin="the --model_path line (10) of ${txt}"
    fi
    if [[ -n "${path}" ]] && { [[ -f "${path}" && "${path}" == *.pdparams ]] \
            || [[ -f "${path}/model.pdparams" || -f "${path}/deploy.yaml" ]]; }; then
        echo "${path}"; return 0
    fi
    {
        if [[ -z "${path}" ]]; then
            echo "whole_infer: no model given. whole_infer does not train; it exports and runs inference from trained weights."
        else
            echo "whole_infer: ${path} (from ${origin}) is not a model (missing, or not one of the forms below)."
        fi
        echo "Give one with TIPC_MODEL_PATH=PATH (or the infer_model line, line 37, of ${txt}): a model.pdparams"
        echo "checkpoint, a folder holding one (e.g. .../best_model), or an exported folder holding deploy.yaml."
        echo "To make one offline: bash test_tipc/test_train_inference_python.sh ${txt} lite_train_lite_infer, then"
        echo "TIPC_MODEL_PATH=${TIPC_OUTPUT_DIR}/${model_name}/norm_train_gpus_-1_autocast_fp32/best_model/model.pdparams"
    } >&2
    return 1
}
