#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# As owncloud-docker/base v24.04/overlay/etc/owncloud.d/10-folders.sh: the volume's folders, created by
# root (so root-owned when absent: node-init creates them for uid 33 first).
echo "Creating volume folders..."
mkdir -p "$OWNCLOUD_VOLUME_CONFIG" "$OWNCLOUD_VOLUME_FILES" "$OWNCLOUD_VOLUME_APPS" \
    "$OWNCLOUD_VOLUME_SESSIONS" "$OWNCLOUD_VOLUME_ROOT/skeleton"
true
