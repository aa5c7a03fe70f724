#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# Defaults as owncloud-docker/base v24.04/overlay/etc/entrypoint.d/50-folders.sh sets them (only the
# variables the stand-in reads). Sourced; exports only.
export OWNCLOUD_SUB_URL="${OWNCLOUD_SUB_URL:-/}"
export OWNCLOUD_VOLUME_ROOT="${OWNCLOUD_VOLUME_ROOT:-/mnt/data}"
export OWNCLOUD_VOLUME_CONFIG="${OWNCLOUD_VOLUME_CONFIG:-${OWNCLOUD_VOLUME_ROOT}/config}"
export OWNCLOUD_VOLUME_FILES="${OWNCLOUD_VOLUME_FILES:-${OWNCLOUD_VOLUME_ROOT}/files}"
export OWNCLOUD_VOLUME_APPS="${OWNCLOUD_VOLUME_APPS:-${OWNCLOUD_VOLUME_ROOT}/apps}"
export OWNCLOUD_VOLUME_SESSIONS="${OWNCLOUD_VOLUME_SESSIONS:-${OWNCLOUD_VOLUME_ROOT}/sessions}"
true
