-- Finishes the database wixl 0.101 builds; build.sh runs each line with
-- msibuild -q after replacing @MSI_VERSION@ (lines starting with -- are skipped):
-- component conditions for the presets and autostart, same-version upgrades
-- (Attributes is part of Upgrade's key, so delete and insert; 513 =
-- msidbUpgradeAttributesMigrateFeatures | msidbUpgradeAttributesVersionMaxInclusive), and
-- the public properties made secure so they reach the execute sequence.
UPDATE `Component` SET `Condition` = 'EXMAIL_API_URL' WHERE `Component` = 'PresetApiURL'
UPDATE `Component` SET `Condition` = 'EXMAIL_TOKEN_URL' WHERE `Component` = 'PresetTokenURL'
UPDATE `Component` SET `Condition` = 'EXMAIL_LOGIN_URL' WHERE `Component` = 'PresetLoginURL'
UPDATE `Component` SET `Condition` = 'AUTOSTART = "1"' WHERE `Component` = 'Autostart'
DELETE FROM `Upgrade` WHERE `ActionProperty` = 'WIX_UPGRADE_DETECTED'
INSERT INTO `Upgrade` (`UpgradeCode`, `VersionMax`, `Attributes`, `ActionProperty`) VALUES ('{CFE5C52A-F583-4FFF-90D7-3F0E6B51960A}', '@MSI_VERSION@', 513, 'WIX_UPGRADE_DETECTED')
UPDATE `Property` SET `Value` = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;EXMAIL_API_URL;EXMAIL_TOKEN_URL;EXMAIL_LOGIN_URL;AUTOSTART' WHERE `Property` = 'SecureCustomProperties'
