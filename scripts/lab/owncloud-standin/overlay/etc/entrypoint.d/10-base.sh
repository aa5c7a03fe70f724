#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# Defaults as owncloud-docker/base v24.04/overlay/etc/entrypoint.d/10-base.sh sets them (only the
# variables the stand-in reads). Sourced; exports only.
export OWNCLOUD_PROTOCOL="${OWNCLOUD_PROTOCOL:-http}"
export OWNCLOUD_DOMAIN="${OWNCLOUD_DOMAIN:-localhost}"
export OWNCLOUD_TRUSTED_DOMAINS="${OWNCLOUD_TRUSTED_DOMAINS:-}"
export OWNCLOUD_SKIP_CHOWN="${OWNCLOUD_SKIP_CHOWN:-false}"
export OWNCLOUD_CROND_ENABLED="${OWNCLOUD_CROND_ENABLED:-true}"
export OWNCLOUD_FILELOCKING_ENABLED="${OWNCLOUD_FILELOCKING_ENABLED:-${OWNCLOUD_LOCKING_ENABLED:-true}}"
export OWNCLOUD_MAINTENANCE="${OWNCLOUD_MAINTENANCE:-${OWNCLOUD_MAINTENANCE_MODE:-}}"
export OWNCLOUD_BACKGROUND_MODE="${OWNCLOUD_BACKGROUND_MODE:-cron}"
true
