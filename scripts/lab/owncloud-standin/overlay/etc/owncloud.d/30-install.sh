#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# As owncloud-docker/base v24.04/overlay/etc/owncloud.d/30-install.sh: an installed instance
# (config.php on the volume says so) is upgraded, anything else installed; a failure ends the
# container (the steps run under set -e).
if /usr/bin/owncloud installed; then
    echo "Upgrading server database..."
    /usr/bin/owncloud migrate
else
    echo "Installing server database..."
    /usr/bin/owncloud install
fi
true
