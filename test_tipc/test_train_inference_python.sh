#!/bin/bash
# TIPC chain: train -> eval -> export -> inference for one model, as configured in its
# train_infer_python.txt (the positional layout of Paddle model repositories).
#   bash test_tipc/test_train_inference_python.sh test_tipc/configs/encnet/train_infer_python.txt lite_train_lite_infer
# whole_infer does not train: eval (when the dataset is there) -> export -> inference from the model
# in $TIPC_MODEL_PATH, else the txt's infer_model line, else its --model_path line:
#   TIPC_MODEL_PATH=path/to/model.pdparams bash test_tipc/test_train_inference_python.sh TXT whole_infer
# Every command and its status ("Run successfully" / "Run failed") go to
# $TIPC_OUTPUT_DIR/<model>/results_python.log (default test_tipc/output); the script exits non-zero
# when any step failed. TIPC_DATA_DIR (default test_tipc/data) is where prepare.sh put the data.
source test_tipc/common_func.sh

FILENAME=$1
MODE=$2
if [[ -z "${FILENAME}" || -z "${MODE}" ]]; then
    echo "usage: bash test_tipc/test_train_inference_python.sh CONFIG_TXT MODE"; exit 2
fi
[[ -f "${FILENAME}" ]] || { echo "${FILENAME} does not exist"; exit 2; }
IFS=$'\n' read -d '' -r -a lines < "${FILENAME}"

# ---- train_params (line numbers as in Paddle's TIPC layout, 0-based here)
model_name=$(func_parser_value "${lines[1]}")
python=$(func_parser_value "${lines[2]}")
gpu_list=$(func_parser_value "${lines[3]}")
# lines[4]: the device flag, one value per gpu_list entry (--device:cpu|gpu|gpu), as in PaddleSeg
device_key=$(func_parser_key "${lines[4]}")
IFS='|' read -ra device_values <<< "$(func_parser_value "${lines[4]}")"
precision_key=$(func_parser_key "${lines[5]}")
precision_list=$(func_parser_value "${lines[5]}")
iters_key=$(func_parser_key "${lines[6]}")
iters_value=$(func_value_for_mode "$(func_parser_value "${lines[6]}")" "${MODE}")
save_dir_key=$(func_parser_key "${lines[7]}")
batch_key=$(func_parser_key "${lines[8]}")
batch_value=$(func_value_for_mode "$(func_parser_value "${lines[8]}")" "${MODE}")
train_model_name=$(func_parser_value "${lines[10]}")
# lines[14] names the trainer (trainer:norm_train); its command is the line of that key (15-20)
trainer=$(func_parser_value "${lines[14]}")
train_cmd=null
for i in 15 16 17 18 19 20; do
    [[ "$(func_parser_key "${lines[i]}")" == "${trainer}" ]] && train_cmd=$(func_parser_value "${lines[i]}")
done
if [[ "${train_cmd}" == "null" || -z "${train_cmd}" ]]; then
    echo "${FILENAME}: line 15 names trainer '${trainer}', but no line 16-21 gives its command"; exit 2
fi
# ---- eval_params
eval_cmd=$(func_parser_value "${lines[23]}")
# ---- export_params
export_save_key=$(func_parser_key "${lines[27]}")
export_model_key=$(func_parser_key "${lines[28]}")
norm_export=$(func_parser_value "${lines[29]}")
# ---- infer_params
inference_py=$(func_parser_value "${lines[39]}")
infer_device_list=$(func_parser_value "${lines[40]}")
mkldnn_key=$(func_parser_key "${lines[41]}"); mkldnn_list=$(func_parser_value "${lines[41]}")
threads_key=$(func_parser_key "${lines[42]}"); threads_list=$(func_parser_value "${lines[42]}")
infer_batch_key=$(func_parser_key "${lines[43]}"); infer_batch_list=$(func_parser_value "${lines[43]}")
trt_key=$(func_parser_key "${lines[44]}"); trt_list=$(func_parser_value "${lines[44]}")
infer_precision_key=$(func_parser_key "${lines[45]}"); infer_precision_list=$(func_parser_value "${lines[45]}")
infer_config_key=$(func_parser_key "${lines[46]}")
image_key=$(func_parser_key "${lines[47]}"); image_value=$(func_data_path "$(func_parser_value "${lines[47]}")")
benchmark_key=$(func_parser_key "${lines[49]}"); benchmark_value=$(func_parser_value "${lines[49]}")
infer_save_key=$(func_parser_key "${lines[50]}")

case "${MODE}" in
    lite_train_lite_infer|lite_train_whole_infer|whole_train_whole_infer) ;;
    whole_infer) infer_model=$(func_whole_infer_model "${FILENAME}") || exit 1 ;;
    *) echo "unknown or unsupported mode ${MODE}"; exit 2 ;;
esac

OUT=${TIPC_OUTPUT_DIR}/${model_name}
data_opts=$(func_data_opts)   # --opts moving the configs' dataset_root under TIPC_DATA_DIR, if set
# whole_infer clears ${OUT}/whole_infer_gpus_*/ (its own outputs), so the model must live elsewhere
if [[ "${MODE}" == "whole_infer" && "$(realpath -m "${infer_model}")" == "$(realpath -m "${OUT}")/whole_infer_gpus_"* ]]; then
    echo "whole_infer: ${infer_model} lies in a folder this run clears (${OUT}/whole_infer_gpus_*); copy it elsewhere first" >&2
    exit 1
fi
mkdir -p "${OUT}"
LOG=${OUT}/results_python.log
: > "${LOG}"
echo "TIPC ${model_name} ${MODE} ($(date '+%F %T'))" | tee -a "${LOG}"
if [[ "${MODE}" == "whole_infer" ]]; then
    echo " whole_infer: no training; model ${infer_model}" | tee -a "${LOG}"
    # eval needs the labelled dataset the image list comes from (prepare.sh puts it there)
    data_root=$(dirname "${image_value}")
fi
num_gpus=$(${python} -c "import paddle; print(paddle.device.cuda.device_count() if paddle.is_compiled_with_cuda() else 0)" 2>/dev/null)
num_gpus=${num_gpus:-0}
failed=0

IFS='|' read -ra gpus <<< "${gpu_list}"
IFS='|' read -ra precisions <<< "${precision_list}"
[[ "${MODE}" == "whole_infer" ]] && precisions=("${precisions[0]}")   # the training precision: one pass
for gpu_index in "${!gpus[@]}"; do
    gpu=${gpus[gpu_index]}
    # the entry's value on lines[4]; empty or null (or an old Global.use_gpu line): derived
    device=${device_values[gpu_index]}
    if [[ "${device_key}" != --* || -z "${device}" || "${device}" == "null" ]]; then
        device=$([[ "${gpu}" == "-1" ]] && echo cpu || echo gpu)
    fi
    if [[ "${gpu}" == "-1" ]]; then
        launcher="${python}"
    else
        IFS=',' read -ra ids <<< "${gpu}"
        if (( ${#ids[@]} > num_gpus )); then
            echo " Skipped gpu_list entry ${gpu}: this machine has ${num_gpus} GPU(s)" | tee -a "${LOG}"; continue
        fi
        if [[ "${MODE}" == "whole_infer" ]] && (( ${#ids[@]} > 1 )); then
            echo " Skipped gpu_list entry ${gpu}: whole_infer does not train, so multi-GPU entries add nothing" | tee -a "${LOG}"; continue
        fi
        if (( ${#ids[@]} > 1 )); then
            launcher="${python} -m paddle.distributed.launch --devices ${gpu} --log_dir ${OUT}/dist_log_${gpu//,/_}"
        else
            launcher="env CUDA_VISIBLE_DEVICES=${gpu} ${python}"
        fi
    fi
    for precision in "${precisions[@]}"; do
        if [[ "${MODE}" == "whole_infer" ]]; then
            # its own folder, so a model taken from a training run's folder is not cleared below
            run_dir=${OUT}/whole_infer_gpus_${gpu//,/_}
        else
            run_dir=${OUT}/${trainer}_gpus_${gpu}_autocast_${precision}   # PaddleSeg's folder name
        fi
        rm -rf "${run_dir}"; mkdir -p "${run_dir}"
        if [[ "${MODE}" == "whole_infer" ]]; then
            model_path=${infer_model}
        else
            params="$(func_set_params "${iters_key}" "${iters_value}") $(func_set_params "${batch_key}" "${batch_value}")"
            params="${params} $(func_set_params "${save_dir_key}" "${run_dir}") --device ${device}"
            [[ "${precision}" != "fp32" ]] && params="${params} $(func_set_params "${precision_key}" "${precision}")"
            func_run_and_log "${launcher} ${train_cmd} ${params}${data_opts:+ ${data_opts}}" "${LOG}" "${run_dir}/train.log" || failed=1
            model_path=${run_dir}/${train_model_name}
        fi

        if [[ "${MODE}" == "whole_infer" && -f "${model_path}/deploy.yaml" && ! -f "${model_path}/model.pdparams" ]]; then
            echo " Skipped eval: ${model_path} is an exported model (eval needs model.pdparams)" | tee -a "${LOG}"
        elif [[ "${MODE}" == "whole_infer" && ! -d "${data_root}/gtFine/val" ]]; then
            echo " Skipped eval: no labelled dataset in ${data_root} (bash test_tipc/prepare.sh ${FILENAME} whole_infer makes one)" | tee -a "${LOG}"
        else
            func_run_and_log "${python} ${eval_cmd} --model_path ${model_path} --device ${device}${data_opts:+ ${data_opts}}" "${LOG}" \
                "${run_dir}/eval.log" || failed=1
        fi

        if [[ "${MODE}" == "whole_infer" && -f "${model_path}/deploy.yaml" ]]; then
            export_dir=${model_path}
            echo " Skipped export: ${model_path} is already exported" | tee -a "${LOG}"
        else
            export_dir=${run_dir}/export
            func_run_and_log "${python} ${norm_export} $(func_set_params "${export_model_key}" "${model_path}") $(func_set_params "${export_save_key}" "${export_dir}") --device ${device}${data_opts:+ ${data_opts}}" \
                "${LOG}" "${run_dir}/export.log" || failed=1
        fi

        IFS='|' read -ra infer_devices <<< "${infer_device_list}"
        for infer_device in "${infer_devices[@]}"; do
            if [[ "${infer_device}" == "gpu" && ${num_gpus} -eq 0 ]]; then
                echo " Skipped inference on gpu: no GPU on this machine" | tee -a "${LOG}"; continue
            fi
            IFS='|' read -ra mkldnns <<< "${mkldnn_list}"; IFS='|' read -ra threads <<< "${threads_list}"
            IFS='|' read -ra batches <<< "${infer_batch_list}"; IFS='|' read -ra trts <<< "${trt_list}"
            IFS='|' read -ra infer_precisions <<< "${infer_precision_list}"
            [[ "${infer_device}" == "gpu" ]] && mkldnns=("False") && threads=("1")
            [[ "${infer_device}" == "cpu" ]] && trts=("False") && infer_precisions=("fp32")
            for mkldnn in "${mkldnns[@]}"; do for nthreads in "${threads[@]}"; do for bs in "${batches[@]}"; do
            for trt in "${trts[@]}"; do for infer_precision in "${infer_precisions[@]}"; do
                name="infer_${infer_device}_mkldnn_${mkldnn}_threads_${nthreads}_bs_${bs}_trt_${trt}_${infer_precision}"
                cmd="${python} ${inference_py} $(func_set_params "${infer_config_key}" "${export_dir}/deploy.yaml")"
                cmd="${cmd} $(func_set_params "${image_key}" "${image_value}") --device ${infer_device}"
                cmd="${cmd} $(func_set_params "${mkldnn_key}" "${mkldnn}") $(func_set_params "${threads_key}" "${nthreads}")"
                cmd="${cmd} $(func_set_params "${infer_batch_key}" "${bs}") $(func_set_params "${trt_key}" "${trt}")"
                cmd="${cmd} $(func_set_params "${infer_precision_key}" "${infer_precision}")"
                cmd="${cmd} $(func_set_params "${benchmark_key}" "${benchmark_value}") $(func_set_params "${infer_save_key}" "${run_dir}/${name}")"
                func_run_and_log "${cmd}" "${LOG}" "${run_dir}/${name}.log" || failed=1
            done; done; done; done; done
        done
    done
done

if [[ ${failed} -ne 0 ]]; then
    echo "TIPC ${model_name} ${MODE}: FAILED (see ${LOG})"; exit 1
fi
echo "TIPC ${model_name} ${MODE}: all steps passed (${LOG})"
