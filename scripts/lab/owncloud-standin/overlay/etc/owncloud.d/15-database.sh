#!/usr/bin/env bash
# STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
# As owncloud-docker/base v24.04/overlay/etc/owncloud.d/15-database.sh: for mysql, ":3306" is appended
# to a host without a port (the exported value changes, so config and install see host:3306), then a
# bounded TCP wait; a timeout ends the container when OWNCLOUD_DB_FAIL=true. Redis (not in cluster
# mode, port not 0): a TCP wait on the host without "tls://"; a timeout always ends the container.
if [[ "$OWNCLOUD_DB_TYPE" == mysql ]]; then
    if [[ "$OWNCLOUD_DB_HOST" != *:* ]]; then OWNCLOUD_DB_HOST="$OWNCLOUD_DB_HOST:3306"; fi
    echo "Waiting for MySQL..."
    if ! wait-for-it -t "$OWNCLOUD_DB_TIMEOUT" "$OWNCLOUD_DB_HOST" && [[ "$OWNCLOUD_DB_FAIL" == true ]]; then
        echo "Database didn't come up in time!"
        exit 1
    fi
fi
if [[ "$OWNCLOUD_REDIS_ENABLED" == true && -z "$OWNCLOUD_REDIS_SEEDS" && "$OWNCLOUD_REDIS_PORT" != 0 ]]; then
    echo "Waiting for Redis..."
    if ! wait-for-it -t "$OWNCLOUD_REDIS_STARTUP_TIMEOUT" "${OWNCLOUD_REDIS_HOST#tls://}:$OWNCLOUD_REDIS_PORT"; then
        echo "Redis didn't come up in time!"
        exit 1
    fi
fi
true
