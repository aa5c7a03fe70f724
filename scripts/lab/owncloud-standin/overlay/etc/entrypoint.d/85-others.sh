#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# Defaults as owncloud-docker/base v24.04/overlay/etc/entrypoint.d/85-others.sh sets them (only the
# variables the stand-in reads). Sourced; exports only.
export OWNCLOUD_OVERWRITE_PROTOCOL="${OWNCLOUD_OVERWRITE_PROTOCOL:-}"
export OWNCLOUD_OVERWRITE_HOST="${OWNCLOUD_OVERWRITE_HOST:-}"
export OWNCLOUD_OVERWRITE_CLI_URL="${OWNCLOUD_OVERWRITE_CLI_URL:-${OWNCLOUD_PROTOCOL}://${OWNCLOUD_DOMAIN}${OWNCLOUD_SUB_URL}}"
export OWNCLOUD_FILELOCKING_TTL="${OWNCLOUD_FILELOCKING_TTL:-}"
export OWNCLOUD_ENTRYPOINT_INITIALIZED="${OWNCLOUD_ENTRYPOINT_INITIALIZED:-true}"
true
