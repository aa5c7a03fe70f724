#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# Defaults as owncloud-docker/base v24.04/overlay/etc/entrypoint.d/15-db.sh sets them (only the
# variables the stand-in reads). Sourced; exports only.
export OWNCLOUD_DB_TYPE="${OWNCLOUD_DB_TYPE:-sqlite}"
export OWNCLOUD_DB_HOST="${OWNCLOUD_DB_HOST:-}"
export OWNCLOUD_DB_NAME="${OWNCLOUD_DB_NAME:-owncloud}"
export OWNCLOUD_DB_USERNAME="${OWNCLOUD_DB_USERNAME:-}"
export OWNCLOUD_DB_PASSWORD="${OWNCLOUD_DB_PASSWORD:-}"
export OWNCLOUD_DB_PREFIX="${OWNCLOUD_DB_PREFIX:-oc_}"
export OWNCLOUD_DB_TIMEOUT="${OWNCLOUD_DB_TIMEOUT:-180}"
export OWNCLOUD_DB_FAIL="${OWNCLOUD_DB_FAIL:-true}"
export OWNCLOUD_MYSQL_UTF8MB4="${OWNCLOUD_MYSQL_UTF8MB4:-${OWNCLOUD_UTF8MB4_ENABLED:-}}"
true
