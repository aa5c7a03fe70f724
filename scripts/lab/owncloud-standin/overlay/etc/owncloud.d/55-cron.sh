#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# As owncloud-docker/base v24.04/overlay/etc/owncloud.d/55-cron.sh: the background-job mode, then a
# cron daemon only when OWNCLOUD_CROND_ENABLED=true. The stand-in image has no cron daemon: it
# refuses to start with crond enabled rather than silently run no background jobs (node-init sets
# OWNCLOUD_CROND_ENABLED=false and runs /usr/bin/cronjob from a host timer).
case "$OWNCLOUD_BACKGROUND_MODE" in
ajax | cron | webcron)
    echo "Enabling $OWNCLOUD_BACKGROUND_MODE background..."
    occ "background:$OWNCLOUD_BACKGROUND_MODE"
    ;;
esac
if [[ "$OWNCLOUD_CROND_ENABLED" == true ]]; then
    echo "OWNCLOUD_CROND_ENABLED=true: this stand-in image has no cron daemon; set it to false and run /usr/bin/cronjob from outside" >&2
    exit 1
fi
true
