#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# As owncloud-docker/base v24.04/overlay/etc/owncloud.d/20-config.sh: the code's config/ and custom/
# become links to the volume, and overwrite.config.php (PHP that reads the environment at every
# request, merged over config.php) is written there, root-owned.
if [[ ! -L /var/www/owncloud/custom ]]; then
    rm -rf /var/www/owncloud/custom
    ln -sf "$OWNCLOUD_VOLUME_APPS" /var/www/owncloud/custom
fi
if [[ ! -L /var/www/owncloud/config ]]; then
    rm -rf /var/www/owncloud/config
    ln -sf "$OWNCLOUD_VOLUME_CONFIG" /var/www/owncloud/config
fi
echo "Writing config file..."
cp /etc/templates/config.php "$OWNCLOUD_VOLUME_CONFIG/overwrite.config.php"
true
