<?php
// STAND-IN (lab only) for the owncloud/server:11.0.0 image, written for this project; not ownCloud.
// Copied to <config>/overwrite.config.php by owncloud.d/20-config.sh. Like the image's template
// (owncloud-docker/base v24.04/overlay/etc/templates/config.php, getConfigFromEnv) it reads the
// environment at every request; the stand-in's config loader merges it over config.php. Only the
// keys the stand-in uses.
$CONFIG = (function (): array {
    $env = static fn (string $name): string => (string) getenv($name);
    $trusted = $env('OWNCLOUD_TRUSTED_DOMAINS') !== ''
        ? array_map('trim', explode(',', $env('OWNCLOUD_TRUSTED_DOMAINS')))
        : [explode(':', $env('OWNCLOUD_DOMAIN'))[0]];
    $config = [
        'trusted_domains' => $trusted,
        'datadirectory' => $env('OWNCLOUD_VOLUME_FILES'),
        'dbtype' => $env('OWNCLOUD_DB_TYPE'),
        'dbhost' => $env('OWNCLOUD_DB_HOST'),
        'dbname' => $env('OWNCLOUD_DB_NAME'),
        'dbuser' => $env('OWNCLOUD_DB_USERNAME'),
        'dbpassword' => $env('OWNCLOUD_DB_PASSWORD'),
        'dbtableprefix' => $env('OWNCLOUD_DB_PREFIX'),
        'filelocking.enabled' => $env('OWNCLOUD_FILELOCKING_ENABLED') === 'true',
    ];
    foreach ([
        'OWNCLOUD_OVERWRITE_HOST' => 'overwritehost',
        'OWNCLOUD_OVERWRITE_PROTOCOL' => 'overwriteprotocol',
        'OWNCLOUD_OVERWRITE_CLI_URL' => 'overwrite.cli.url',
    ] as $name => $key) {
        if ($env($name) !== '') {
            $config[$key] = $env($name);
        }
    }
    if ($env('OWNCLOUD_MYSQL_UTF8MB4') !== '') {
        $config['mysql.utf8mb4'] = $env('OWNCLOUD_MYSQL_UTF8MB4') === 'true';
    }
    if ($env('OWNCLOUD_FILELOCKING_TTL') !== '') {
        $config['filelocking.ttl'] = (int) $env('OWNCLOUD_FILELOCKING_TTL');
    }
    if ($env('OWNCLOUD_MAINTENANCE') !== '') {
        $config['maintenance'] = $env('OWNCLOUD_MAINTENANCE') === 'true';
    }
    if ($env('OWNCLOUD_REDIS_ENABLED') === 'true') {
        $config['memcache.distributed'] = '\OC\Memcache\Redis';
        $config['memcache.locking'] = '\OC\Memcache\Redis';
        // The TLS settings: 'connection_parameters' for a cluster, ['connection_parameters']['stream']
        // for a single endpoint, as the image's template nests them.
        $tls = [];
        foreach ([
            'OWNCLOUD_REDIS_TLS_CAFILE' => 'cafile',
            'OWNCLOUD_REDIS_TLS_PEER_NAME' => 'peer_name',
        ] as $name => $key) {
            if ($env($name) !== '') {
                $tls[$key] = $env($name);
            }
        }
        foreach ([
            'OWNCLOUD_REDIS_TLS_VERIFY_PEER' => 'verify_peer',
            'OWNCLOUD_REDIS_TLS_VERIFY_PEER_NAME' => 'verify_peer_name',
            'OWNCLOUD_REDIS_TLS_ALLOW_SELF_SIGNED' => 'allow_self_signed',
        ] as $name => $key) {
            if ($env($name) !== '') {
                $tls[$key] = $env($name) === 'true';
            }
        }
        $key = $env('OWNCLOUD_REDIS_SEEDS') !== '' ? 'redis.cluster' : 'redis';
        $redis = $key === 'redis.cluster'
            ? ['seeds' => explode(',', $env('OWNCLOUD_REDIS_SEEDS'))]
            // The host verbatim: "tls://name" reaches phpredis as a TLS address.
            : ['host' => $env('OWNCLOUD_REDIS_HOST'), 'port' => $env('OWNCLOUD_REDIS_PORT')];
        if ($key === 'redis' && $env('OWNCLOUD_REDIS_DB') !== '') {
            $redis['dbindex'] = $env('OWNCLOUD_REDIS_DB');
        }
        if ($env('OWNCLOUD_REDIS_PASSWORD') !== '') {
            $redis['password'] = $env('OWNCLOUD_REDIS_PASSWORD');
        }
        if ($env('OWNCLOUD_REDIS_TIMEOUT') !== '') {
            $redis['timeout'] = (float) $env('OWNCLOUD_REDIS_TIMEOUT');
        }
        if ($tls !== []) {
            $redis['connection_parameters'] = $key === 'redis.cluster' ? $tls : ['stream' => $tls];
        }
        $config[$key] = $redis;
    }
    return $config;
})();
