/**
 * Loaded before every test file (.mocharc.js). fast-check generates arrays and strings of at most
 * about ten elements by default, whatever `maxLength` a test gives: a property over "up to 3000
 * writes" would then see ten. With this, an explicit maxLength is what the generator ranges over.
 */
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), defaultSizeToMaxWhenMaxSpecified: true });
