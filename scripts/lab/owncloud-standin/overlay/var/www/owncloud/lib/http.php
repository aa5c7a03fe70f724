<?php
// STAND-IN (lab only) for ownCloud 11.0.0 in the owncloud/server image, written for this project;
// not ownCloud. What ownCloud's lib/base.php does for every web request before the endpoint runs.
declare(strict_types=1);
require_once __DIR__ . '/standin.php';

function standin_json(int $status, array $body): never
{
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($body);
    exit;
}

/**
 * ownCloud's trusted-domain check (lib/private/Security/TrustedDomainHelper.php, lib/base.php): on an
 * installed instance without overwritehost, a Host that is neither localhost/127.0.0.1 nor in
 * trusted_domains (with or without its port) is refused with 400; status.php answers JSON.
 */
function standin_host_trusted(array $config, string $hostWithPort): bool
{
    $host = preg_replace('/:\d+$/', '', $hostWithPort);
    $trusted = $config['trusted_domains'] ?? [];
    if (!is_array($trusted)) {
        return false;
    }
    if (preg_match('/^(127\.0\.0\.1|localhost)$/', $host) === 1) {
        return true;
    }
    return in_array($hostWithPort, $trusted, true) || in_array($host, $trusted, true);
}

function standin_check_host(array $config, bool $statusPhp): void
{
    if (!standin_installed($config) || ($config['overwritehost'] ?? '') !== '') {
        return;
    }
    if (!standin_host_trusted($config, (string) ($_SERVER['HTTP_HOST'] ?? ''))) {
        if ($statusPhp) {
            standin_json(400, ['error' => 'Trusted domain error.', 'code' => 15]);
        }
        http_response_code(400);
        header('Content-Type: text/plain');
        echo "You are accessing the server from an untrusted domain.\n";
        exit;
    }
}
