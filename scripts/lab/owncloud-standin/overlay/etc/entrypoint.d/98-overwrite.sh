#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# As owncloud-docker/base v24.04/overlay/etc/entrypoint.d/98-overwrite.sh: Apache's settings, and
# the whole environment in /etc/environment when running with group root (so cron and login
# shells see it).
export HOME="${HOME:-/var/www/owncloud}"
export LANG="${LANG:-C}"
export APACHE_ERROR_LOG="${OWNCLOUD_ERRORLOG_LOCATION:-/dev/stderr}"
export APACHE_ACCESS_LOG="${OWNCLOUD_ACCESSLOG_LOCATION:-/dev/stdout}"
export APACHE_DOCUMENT_ROOT="${APACHE_DOCUMENT_ROOT:-/var/www/owncloud}"
export APACHE_LISTEN="${APACHE_LISTEN:-8080}"
if [[ "$(id -g)" == 0 ]]; then env >| /etc/environment; fi
true
