<?php
// STAND-IN (lab only) for ownCloud 11.0.0's WebDAV in the owncloud/server image, written for this
// project; not ownCloud. A subset at /remote.php/webdav/<path> and /remote.php/dav/files/<user>/<path>:
// Basic auth against the users table; PUT, GET/HEAD, DELETE, MKCOL, PROPFIND (depth 0/1). Files live
// under <datadirectory>/<user>/files; each PUT goes to a .part file beside the target, then a rename,
// and records size, etag and checksums (SHA1, MD5, ADLER32 as ownCloud's OC-Checksum) in filecache.
// File locking in Redis (memcache.locking): PUT and DELETE hold an exclusive lock, GET checks it;
// a held lock answers 423 Locked (ownCloud's FileLocked exception); Redis unreachable answers 503.
// A PUT whose parent collection is missing answers 409 (owncloud/core issue 38089, PR 38092).
declare(strict_types=1);
require __DIR__ . '/lib/http.php';

final class DavError extends Exception
{
    public function __construct(public readonly int $status, string $message)
    {
        parent::__construct($message);
    }
}

function dav_fail(int $status, string $message): never
{
    throw new DavError($status, $message);
}

/** [user, relative path without leading or trailing "/"] from PATH_INFO, or a DavError. */
function dav_target(string $pathInfo, string $authUser): array
{
    $path = rawurldecode($pathInfo);
    if (preg_match('#^/webdav(/.*)?$#', $path, $m)) {
        $user = $authUser;
        $rel = $m[1] ?? '';
    } elseif (preg_match('#^/dav/files/([^/]+)(/.*)?$#', $path, $m)) {
        $user = $m[1];
        $rel = $m[2] ?? '';
        if ($user !== $authUser) {
            dav_fail(403, "not the files of $authUser");
        }
    } else {
        dav_fail(404, "no DAV endpoint at $path");
    }
    $parts = array_values(array_filter(explode('/', $rel), static fn ($p) => $p !== ''));
    foreach ($parts as $p) {
        if ($p === '.' || $p === '..' || str_contains($p, "\0")) {
            dav_fail(400, 'bad path segment');
        }
    }
    return [$user, implode('/', $parts)];
}

function dav_authenticate(PDO $db, string $prefix): string
{
    $user = $_SERVER['PHP_AUTH_USER'] ?? null;
    $password = $_SERVER['PHP_AUTH_PW'] ?? null;
    if (is_string($user) && is_string($password)) {
        $q = $db->prepare("SELECT password FROM `{$prefix}users` WHERE uid = ?");
        $q->execute([$user]);
        $hash = $q->fetchColumn();
        if (is_string($hash) && password_verify($password, $hash)) {
            return $user;
        }
    }
    header('WWW-Authenticate: Basic realm="ownCloud", charset="UTF-8"');
    dav_fail(401, 'No valid credentials');
}

/** Exclusive lock (SET NX EX) around $work; 423 when held, 503 when Redis fails. */
function dav_exclusive(?object $redis, string $key, int $ttl, callable $work): mixed
{
    if ($redis === null) {
        return $work();
    }
    $token = bin2hex(random_bytes(8));
    try {
        $got = $redis->set($key, 'exclusive:' . $token, ['nx', 'ex' => $ttl]);
    } catch (RedisException $e) {
        dav_fail(503, 'file locking: ' . $e->getMessage());
    }
    if ($got !== true) {
        dav_fail(423, 'is locked');
    }
    try {
        return $work();
    } finally {
        try {
            if ($redis->get($key) === 'exclusive:' . $token) {
                $redis->del($key);
            }
        } catch (RedisException $e) {
            error_log('remote.php: releasing ' . $key . ': ' . $e->getMessage());
        }
    }
}

function dav_check_shared(?object $redis, string $key): void
{
    if ($redis === null) {
        return;
    }
    try {
        $value = $redis->get($key);
    } catch (RedisException $e) {
        dav_fail(503, 'file locking: ' . $e->getMessage());
    }
    if (is_string($value) && str_starts_with($value, 'exclusive')) {
        dav_fail(423, 'is locked');
    }
}

function dav_row(PDO $db, string $p, string $user, string $rel): ?array
{
    $q = $db->prepare("SELECT fileid, size, mtime, etag, checksum FROM `{$p}filecache` WHERE storage = ? AND path_hash = ?");
    $q->execute([$user, md5('files/' . $rel)]);
    $row = $q->fetch(PDO::FETCH_ASSOC);
    return $row === false ? null : $row;
}

function dav_record(PDO $db, string $p, string $user, string $rel, int $size, int $mtime, ?string $checksum): array
{
    $etag = uniqid();
    $db->prepare("INSERT INTO `{$p}filecache` (storage, path, path_hash, size, mtime, etag, checksum)
        VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE size = VALUES(size), mtime = VALUES(mtime),
        etag = VALUES(etag), checksum = VALUES(checksum)")
        ->execute([$user, 'files/' . $rel, md5('files/' . $rel), $size, $mtime, $etag, $checksum]);
    return dav_row($db, $p, $user, $rel);
}

function dav_etag_headers(array $row): void
{
    header('ETag: "' . $row['etag'] . '"');
    header('OC-ETag: "' . $row['etag'] . '"');
    header('OC-FileId: ' . sprintf('%08d', $row['fileid']));
}

function dav_put(PDO $db, string $p, string $user, string $rel, string $file): int
{
    if ($rel === '') {
        dav_fail(409, 'PUT is not allowed on non-files.');
    }
    if (!is_dir(dirname($file))) {
        dav_fail(409, 'Files cannot be created in non-existent collections');
    }
    if (is_dir($file)) {
        dav_fail(409, 'PUT is not allowed on non-files.');
    }
    $existed = is_file($file);
    $part = dirname($file) . '/' . basename($file) . '.ocTransferId' . random_int(1, PHP_INT_MAX) . '.part';
    $in = fopen('php://input', 'rb');
    $out = fopen($part, 'xb');
    if ($in === false || $out === false) {
        dav_fail(500, 'cannot open the upload');
    }
    $hashes = ['SHA1' => hash_init('sha1'), 'MD5' => hash_init('md5'), 'ADLER32' => hash_init('adler32')];
    $size = 0;
    try {
        while (!feof($in)) {
            $chunk = fread($in, 1 << 20);
            if ($chunk === false) {
                dav_fail(400, 'reading the request body failed');
            }
            if ($chunk === '') {
                continue;
            }
            foreach ($hashes as $h) {
                hash_update($h, $chunk);
            }
            if (fwrite($out, $chunk) !== strlen($chunk)) {
                dav_fail(507, 'writing the upload failed');
            }
            $size += strlen($chunk);
        }
        if (!fflush($out) || !fclose($out)) {
            dav_fail(507, 'writing the upload failed');
        }
        $out = null;
        $expected = $_SERVER['CONTENT_LENGTH'] ?? null;
        if (is_string($expected) && $expected !== '' && (int) $expected !== $size) {
            dav_fail(400, "expected filesize $expected got $size");
        }
        $sums = array_map(static fn ($h) => hash_final($h), $hashes);
        $sent = $_SERVER['HTTP_OC_CHECKSUM'] ?? '';
        if ($sent !== '') {
            [$type, $value] = array_pad(explode(':', $sent, 2), 2, '');
            $type = strtoupper($type);
            if (!isset($sums[$type]) || strtolower($value) !== $sums[$type]) {
                dav_fail(400, 'The computed checksum does not match the one received from the client.');
            }
        }
        if (!rename($part, $file)) {
            dav_fail(500, 'renaming the upload failed');
        }
    } finally {
        if (is_resource($out)) {
            fclose($out);
        }
        if (is_file($part)) {
            unlink($part);
        }
    }
    $mtime = time();
    $sentMtime = $_SERVER['HTTP_X_OC_MTIME'] ?? '';
    if (ctype_digit($sentMtime)) {
        $mtime = (int) $sentMtime;
        touch($file, $mtime);
        header('X-OC-MTime: accepted');
    }
    $checksum = implode(' ', array_map(static fn ($t, $v) => "$t:$v", array_keys($sums), $sums));
    dav_etag_headers(dav_record($db, $p, $user, $rel, $size, $mtime, $checksum));
    return $existed ? 204 : 201;
}

function dav_get(PDO $db, string $p, string $user, string $rel, string $file, bool $head): int
{
    if (is_dir($file)) {
        dav_fail(501, 'GET is only implemented on File objects');
    }
    if (!is_file($file)) {
        dav_fail(404, "File with name $rel could not be located");
    }
    $row = dav_row($db, $p, $user, $rel);
    if ($row !== null) {
        dav_etag_headers($row);
        if (preg_match('/\bSHA1:([0-9a-f]{40})/', (string) $row['checksum'], $m)) {
            header('OC-Checksum: SHA1:' . $m[1]);
        }
    }
    header('Content-Type: application/octet-stream');
    header('Content-Length: ' . filesize($file));
    header('Last-Modified: ' . gmdate('D, d M Y H:i:s', (int) filemtime($file)) . ' GMT');
    if (!$head) {
        readfile($file);
    }
    return 200;
}

function dav_delete(PDO $db, string $p, string $user, string $rel, string $file): int
{
    if ($rel === '') {
        dav_fail(403, 'cannot delete the root');
    }
    if (is_dir($file)) {
        $items = new RecursiveIteratorIterator(
            new RecursiveDirectoryIterator($file, FilesystemIterator::SKIP_DOTS),
            RecursiveIteratorIterator::CHILD_FIRST
        );
        foreach ($items as $item) {
            $item->isDir() ? rmdir($item->getPathname()) : unlink($item->getPathname());
        }
        rmdir($file);
    } elseif (is_file($file)) {
        unlink($file);
    } else {
        dav_fail(404, "File with name $rel could not be located");
    }
    $like = str_replace(['\\', '%', '_'], ['\\\\', '\\%', '\\_'], 'files/' . $rel) . '/%';
    $db->prepare("DELETE FROM `{$p}filecache` WHERE storage = ? AND (path_hash = ? OR path LIKE ?)")
        ->execute([$user, md5('files/' . $rel), $like]);
    return 204;
}

function dav_mkcol(PDO $db, string $p, string $user, string $rel, string $file): int
{
    if (file_exists($file)) {
        dav_fail(405, 'The resource you tried to create already exists');
    }
    if (!is_dir(dirname($file))) {
        dav_fail(409, 'Parent node does not exist');
    }
    if (!mkdir($file, 0770)) {
        dav_fail(500, 'mkdir failed');
    }
    dav_record($db, $p, $user, $rel, 0, time(), null);
    return 201;
}

function dav_propfind(PDO $db, string $p, string $user, string $rel, string $root): int
{
    $file = $rel === '' ? $root : "$root/$rel";
    if (!file_exists($file)) {
        dav_fail(404, "File with name $rel could not be located");
    }
    $base = '/remote.php/' . (str_starts_with((string) $_SERVER['PATH_INFO'], '/dav/') ? 'dav/files/' . rawurlencode($user) : 'webdav');
    $entries = [$rel];
    if (is_dir($file) && ($_SERVER['HTTP_DEPTH'] ?? '1') !== '0') {
        foreach (scandir($file) ?: [] as $name) {
            if ($name !== '.' && $name !== '..' && !str_ends_with($name, '.part')) {
                $entries[] = ltrim("$rel/$name", '/');
            }
        }
    }
    $xml = '<?xml version="1.0" encoding="utf-8"?>' . "\n"
        . '<d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">';
    foreach ($entries as $entry) {
        $path = $entry === '' ? $root : "$root/$entry";
        $isDir = is_dir($path);
        $row = dav_row($db, $p, $user, $entry);
        $href = $base . '/' . implode('/', array_map('rawurlencode', explode('/', $entry))) . ($isDir && $entry !== '' ? '/' : '');
        $xml .= '<d:response><d:href>' . htmlspecialchars($href, ENT_XML1) . '</d:href><d:propstat><d:prop>'
            . '<d:getlastmodified>' . gmdate('D, d M Y H:i:s', (int) filemtime($path)) . ' GMT</d:getlastmodified>'
            . ($isDir ? '<d:resourcetype><d:collection/></d:resourcetype>'
                : '<d:resourcetype/><d:getcontentlength>' . filesize($path) . '</d:getcontentlength>')
            . ($row !== null ? '<d:getetag>"' . $row['etag'] . '"</d:getetag><oc:fileid>' . $row['fileid'] . '</oc:fileid>'
                . '<oc:checksums><oc:checksum>' . htmlspecialchars((string) $row['checksum'], ENT_XML1) . '</oc:checksum></oc:checksums>' : '')
            . '</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>';
    }
    http_response_code(207);
    header('Content-Type: application/xml; charset=utf-8');
    echo $xml . '</d:multistatus>';
    return 207;
}

try {
    $config = standin_config();
    if (!standin_installed($config)) {
        dav_fail(503, 'ownCloud is not installed');
    }
    standin_check_host($config, false);
    if (($config['maintenance'] ?? false) === true) {
        dav_fail(503, 'System in maintenance mode.');
    }
    $p = (string) ($config['dbtableprefix'] ?? 'oc_');
    try {
        $db = standin_db($config);
    } catch (Throwable $e) {
        dav_fail(503, 'database: ' . $e->getMessage());
    }
    $authUser = dav_authenticate($db, $p);
    [$user, $rel] = dav_target((string) ($_SERVER['PATH_INFO'] ?? ''), $authUser);
    $root = rtrim((string) $config['datadirectory'], '/') . "/$user/files";
    $file = $rel === '' ? $root : "$root/$rel";
    $method = $_SERVER['REQUEST_METHOD'];
    $needsLock = in_array($method, ['PUT', 'DELETE', 'GET', 'HEAD'], true);
    try {
        $redis = $needsLock ? standin_redis($config) : null;
    } catch (Throwable $e) {
        dav_fail(503, 'file locking: ' . $e->getMessage());
    }
    $lockKey = 'oclock/' . ($config['instanceid'] ?? '') . "/$user/files/$rel";
    $ttl = (int) ($config['filelocking.ttl'] ?? 30);
    $status = match ($method) {
        'PUT' => dav_exclusive($redis, $lockKey, $ttl, fn () => dav_put($db, $p, $user, $rel, $file)),
        'DELETE' => dav_exclusive($redis, $lockKey, $ttl, fn () => dav_delete($db, $p, $user, $rel, $file)),
        'GET', 'HEAD' => (function () use ($redis, $lockKey, $db, $p, $user, $rel, $file, $method): int {
            dav_check_shared($redis, $lockKey);
            return dav_get($db, $p, $user, $rel, $file, $method === 'HEAD');
        })(),
        'MKCOL' => dav_mkcol($db, $p, $user, $rel, $file),
        'PROPFIND' => dav_propfind($db, $p, $user, $rel, $root),
        'OPTIONS' => 200,
        default => dav_fail(501, "$method is not implemented by this stand-in"),
    };
    http_response_code($status);
} catch (DavError $e) {
    http_response_code($e->status);
    header('Content-Type: application/xml; charset=utf-8');
    echo '<?xml version="1.0" encoding="utf-8"?>' . "\n"
        . '<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:message>'
        . htmlspecialchars($e->getMessage(), ENT_XML1) . '</s:message></d:error>';
} catch (Throwable $e) {
    error_log('remote.php: ' . get_class($e) . ': ' . $e->getMessage());
    http_response_code(500);
}
