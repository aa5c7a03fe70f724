<?php
// STAND-IN (lab only) for ownCloud 11.0.0's status.php in the owncloud/server image, written for this
// project; not ownCloud. The fields of \OCP\Util::getStatusInfo; 400 for an untrusted Host on an
// installed instance (lib/base.php); when initialisation fails (here: the database does not answer,
// which ownCloud's base.php needs on an installed instance) 500, as status.php's catch block sets.
declare(strict_types=1);
require __DIR__ . '/lib/http.php';

try {
    $config = standin_config();
    standin_check_host($config, true);
    if (standin_installed($config)) {
        standin_db($config)->query('SELECT 1');
    }
    header('Access-Control-Allow-Origin: *');
    standin_json(200, [
        'installed' => standin_installed($config),
        'maintenance' => ($config['maintenance'] ?? false) === true,
        'needsDbUpgrade' => standin_needs_upgrade($config),
        'version' => STANDIN_VERSION,
        'versionstring' => STANDIN_VERSIONSTRING,
        'edition' => 'Community',
        'productname' => 'ownCloud',
        'product' => 'ownCloud',
    ]);
} catch (Throwable $e) {
    error_log('status.php: ' . get_class($e) . ': ' . $e->getMessage());
    standin_json(500, ['error' => 'stand-in initialisation failed: ' . get_class($e)]);
}
