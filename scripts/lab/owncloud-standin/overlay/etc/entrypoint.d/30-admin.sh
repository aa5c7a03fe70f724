#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# Defaults as owncloud-docker/base v24.04/overlay/etc/entrypoint.d/30-admin.sh sets them (only the
# variables the stand-in reads). Sourced; exports only.
export OWNCLOUD_ADMIN_USERNAME="${OWNCLOUD_ADMIN_USERNAME:-admin}"
export OWNCLOUD_ADMIN_PASSWORD="${OWNCLOUD_ADMIN_PASSWORD:-admin}"
true
