#!/bin/bash
# Prepare data for a TIPC mode.
#   bash test_tipc/prepare.sh test_tipc/configs/encnet/train_infer_python.txt lite_train_lite_infer
# lite_* modes generate a small Cityscapes-layout dataset offline (no network needed).
# whole_train_whole_infer uses a real Cityscapes root: set CITYSCAPES_ROOT=/path/to/cityscapes
# (holding leftImg8bit/ and gtFine/ with *_labelTrainIds.png, see tools/convert_cityscapes.py).
# whole_infer (no training) needs a model (TIPC_MODEL_PATH or the txt's infer_model line, checked
# here) and uses CITYSCAPES_ROOT when set, else the generated images.
# The data goes to $TIPC_DATA_DIR/cityscapes (default test_tipc/data/cityscapes).
set -o pipefail
FILENAME=$1
MODE=$2
if [[ -z "${FILENAME}" || -z "${MODE}" ]]; then
    echo "usage: bash test_tipc/prepare.sh CONFIG_TXT MODE (lite_train_lite_infer | lite_train_whole_infer | whole_infer | whole_train_whole_infer)"
    exit 2
fi
[[ -f "${FILENAME}" ]] || { echo "prepare.sh: ${FILENAME} does not exist"; exit 2; }
source test_tipc/common_func.sh
python=$(func_parser_value "$(sed -n 3p "${FILENAME}")")
DATA=${TIPC_DATA_DIR}/cityscapes   # TIPC_DATA_DIR: common_func.sh (default test_tipc/data)
mkdir -p "${TIPC_DATA_DIR}"
# The small generated dataset (16 train + 4 val 256x128 images, fixed seed).
generate_data() {
    rm -rf "${DATA}"
    ${python} tools/generate_synthetic_cityscapes.py --out "${DATA}" --train 16 --val 4 --size 256 128 --seed 0
}

case "${MODE}" in
    lite_train_lite_infer|lite_train_whole_infer)
        generate_data || exit 1
        ;;
    whole_infer)
        model=$(func_whole_infer_model "${FILENAME}") || exit 1
        echo "prepare.sh: whole_infer model: ${model}"
        if [[ -n "${CITYSCAPES_ROOT}" ]]; then
            if [[ ! -d "${CITYSCAPES_ROOT}/leftImg8bit" || ! -d "${CITYSCAPES_ROOT}/gtFine" ]]; then
                echo "prepare.sh: CITYSCAPES_ROOT=${CITYSCAPES_ROOT} does not hold leftImg8bit/ and gtFine/"
                echo "(see tools/convert_cityscapes.py); unset it to infer on generated images instead."
                exit 1
            fi
            rm -rf "${DATA}"
            ln -s "$(cd "${CITYSCAPES_ROOT}" && pwd)" "${DATA}"
        else
            echo "prepare.sh: no CITYSCAPES_ROOT: generated images stand in (eval and inference check the chain, not accuracy)"
            generate_data || exit 1
        fi
        ;;
    whole_train_whole_infer)
        if [[ -z "${CITYSCAPES_ROOT}" || ! -d "${CITYSCAPES_ROOT}/leftImg8bit" || ! -d "${CITYSCAPES_ROOT}/gtFine" ]]; then
            echo "prepare.sh: ${MODE} needs the real Cityscapes dataset. Download leftImg8bit_trainvaltest.zip and"
            echo "gtFine_trainvaltest.zip from https://www.cityscapes-dataset.com (free registration), unzip both into"
            echo "one folder, run: python tools/convert_cityscapes.py --cityscapes_root FOLDER"
            echo "then: CITYSCAPES_ROOT=FOLDER bash test_tipc/prepare.sh ${FILENAME} ${MODE}"
            exit 1
        fi
        rm -rf "${DATA}"
        ln -s "$(cd "${CITYSCAPES_ROOT}" && pwd)" "${DATA}"
        ;;
    *)
        echo "prepare.sh: unknown mode ${MODE}"; exit 2 ;;
esac
# The inference image list: a few val images.
find -L "${DATA}/leftImg8bit/val" -name "*_leftImg8bit.png" | sort | head -n 4 | sed "s#^${DATA}/##" > "${DATA}/val_images.txt"
echo "prepare.sh: ${MODE} data ready in ${DATA} ($(wc -l < "${DATA}/val_images.txt") inference images listed)"
