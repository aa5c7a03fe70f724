#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# As owncloud-docker/base v24.04/overlay/etc/owncloud.d/25-chown.sh: www-data:root for the code and
# the volume, unless OWNCLOUD_SKIP_CHOWN=true (node-init sets it: a crawl of GlusterFS).
if [[ "$OWNCLOUD_SKIP_CHOWN" == true ]]; then
    echo "Skipping chown as requested..."
else
    echo "Fixing base perms..."
    find /var/www/owncloud \( ! -user www-data -o ! -group root \) -print0 | xargs -r -0 chown -h www-data:root
    echo "Fixing data perms..."
    find "$OWNCLOUD_VOLUME_ROOT" \( ! -user www-data -o ! -group root \) -print0 | xargs -r -0 chown -h www-data:root
fi
true
