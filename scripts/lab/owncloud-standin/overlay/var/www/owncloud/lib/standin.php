<?php
// STAND-IN (lab only) for ownCloud 11.0.0 in the owncloud/server image, written for this project;
// not ownCloud. Shared code of occ, status.php and remote.php: configuration (config.php merged with
// every other *.config.php, as ownCloud's lib/private/Config.php reads them), the database (PDO
// MySQL), Redis (as lib/private/RedisFactory.php connects) and the version.
declare(strict_types=1);

const STANDIN_VERSION = '11.0.0.0';
const STANDIN_VERSIONSTRING = '11.0.0';
const STANDIN_CONFIG_DIR = __DIR__ . '/../config';

// The image's config template refers to OC::$SERVERROOT.
class OC
{
    public static string $SERVERROOT = '/var/www/owncloud';
}

final class StandinError extends RuntimeException
{
}

/** config.php, then the other *.config.php files in order, each merged over the previous. */
function standin_config(bool $reload = false): array
{
    static $merged = null;
    if ($merged !== null && !$reload) {
        return $merged;
    }
    $files = glob(STANDIN_CONFIG_DIR . '/*.config.php') ?: [];
    sort($files);
    array_unshift($files, STANDIN_CONFIG_DIR . '/config.php');
    $merged = [];
    foreach ($files as $file) {
        if (is_file($file)) {
            $merged = array_merge($merged, standin_read_config_file($file));
        }
    }
    return $merged;
}

function standin_read_config_file(string $file): array
{
    $CONFIG = [];
    include $file;
    return is_array($CONFIG) ? $CONFIG : [];
}

/**
 * Writes config.php with $values: ownCloud's Config::writeData writes its whole merged cache, so the
 * environment's overwrite values land in config.php too. Atomically (a temporary file beside it, then
 * rename), where ownCloud rewrites the file in place under flock.
 */
function standin_write_config(array $values): void
{
    $file = STANDIN_CONFIG_DIR . '/config.php';
    $tmp = $file . '.' . bin2hex(random_bytes(4)) . '.tmp';
    $text = "<?php\n\$CONFIG = " . var_export($values, true) . ";\n";
    if (file_put_contents($tmp, $text) !== strlen($text) || !chmod($tmp, 0640) || !rename($tmp, $file)) {
        @unlink($tmp);
        throw new StandinError("cannot write $file");
    }
    if (function_exists('opcache_invalidate')) {
        opcache_invalidate($file, true);
    }
    standin_config(true);
}

function standin_installed(array $config): bool
{
    return ($config['installed'] ?? false) === true;
}

/** Code version newer than the recorded one: ownCloud's needUpgrade. */
function standin_needs_upgrade(array $config): bool
{
    return standin_installed($config)
        && version_compare(STANDIN_VERSION, (string) ($config['version'] ?? '0'), '>');
}

/** dbhost as ownCloud reads it: "host", "host:port" or "host:/socket". */
function standin_dsn(string $host, string $name): string
{
    $dsn = 'mysql:';
    if (preg_match('/^(.*):(\d+)$/', $host, $m)) {
        $dsn .= 'host=' . $m[1] . ';port=' . $m[2];
    } elseif (preg_match('/^(.*):(\/.*)$/', $host, $m)) {
        $dsn .= ($m[1] !== '' ? 'host=' . $m[1] . ';' : '') . 'unix_socket=' . $m[2];
    } else {
        $dsn .= 'host=' . ($host !== '' ? $host : 'localhost');
    }
    return $dsn . ($name !== '' ? ';dbname=' . $name : '') . ';charset=utf8mb4';
}

function standin_pdo(string $host, string $name, string $user, string $password): PDO
{
    return new PDO(standin_dsn($host, $name), $user, $password, [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_TIMEOUT => 10,
    ]);
}

function standin_db(array $config): PDO
{
    if (($config['dbtype'] ?? '') !== 'mysql') {
        throw new StandinError('this stand-in speaks only dbtype mysql, config has ' . var_export($config['dbtype'] ?? null, true));
    }
    return standin_pdo((string) $config['dbhost'], (string) $config['dbname'], (string) $config['dbuser'], (string) $config['dbpassword']);
}

/** The stand-in's tables (a small subset of ownCloud's, same names and roles). */
function standin_create_tables(PDO $db, string $prefix): void
{
    $db->exec("CREATE TABLE IF NOT EXISTS `{$prefix}users` (
        uid VARCHAR(64) NOT NULL PRIMARY KEY, displayname VARCHAR(64) NULL, password VARCHAR(255) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
    $db->exec("CREATE TABLE IF NOT EXISTS `{$prefix}filecache` (
        fileid BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, storage VARCHAR(64) NOT NULL,
        path VARCHAR(4000) NOT NULL, path_hash CHAR(32) NOT NULL, size BIGINT NOT NULL,
        mtime BIGINT NOT NULL, etag VARCHAR(40) NOT NULL, checksum VARCHAR(255) NULL,
        UNIQUE KEY fs_storage_path_hash (storage, path_hash)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
    $db->exec("CREATE TABLE IF NOT EXISTS `{$prefix}appconfig` (
        appid VARCHAR(32) NOT NULL, configkey VARCHAR(64) NOT NULL, configvalue LONGTEXT NULL,
        PRIMARY KEY (appid, configkey)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
}

function standin_set_appconfig(PDO $db, string $prefix, string $app, string $key, string $value): void
{
    $db->prepare("INSERT INTO `{$prefix}appconfig` (appid, configkey, configvalue) VALUES (?, ?, ?)
        ON DUPLICATE KEY UPDATE configvalue = VALUES(configvalue)")->execute([$app, $key, $value]);
}

/**
 * Redis for file locking, or null when memcache.locking is not Redis. Connected as ownCloud's
 * RedisFactory does: redis.cluster (seeds) or redis (host verbatim, so "tls://name" is TLS with
 * PHP's stream defaults: peer and name verified against the system CAs), AUTH, dbindex.
 */
function standin_redis(array $config): Redis|RedisCluster|null
{
    if (($config['filelocking.enabled'] ?? true) === false || ($config['memcache.locking'] ?? '') !== '\OC\Memcache\Redis') {
        return null;
    }
    if (isset($config['redis.cluster'])) {
        $c = $config['redis.cluster'];
        $args = [null, $c['seeds'], $c['timeout'] ?? 0.0, $c['read_timeout'] ?? 0.0, false, $c['password'] ?? null];
        if (isset($c['connection_parameters'])) {
            $args[] = $c['connection_parameters'];
        }
        return new RedisCluster(...$args);
    }
    $c = $config['redis'] ?? [];
    $redis = new Redis();
    $host = (string) ($c['host'] ?? '127.0.0.1');
    $port = (int) ($c['port'] ?? 6379);
    $timeout = (float) ($c['timeout'] ?? 0.0);
    $ok = isset($c['connection_parameters'])
        ? $redis->connect($host, $port, $timeout, null, 0, 0, $c['connection_parameters'])
        : $redis->connect($host, $port, $timeout);
    if (!$ok) {
        throw new StandinError("cannot connect to Redis at $host:$port");
    }
    if (($c['password'] ?? '') !== '') {
        $redis->auth($c['password']);
    }
    if (isset($c['dbindex'])) {
        $redis->select((int) $c['dbindex']);
    }
    return $redis;
}
