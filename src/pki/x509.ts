// @peculiar/x509 needs the Reflect metadata polyfill evaluated before it; importing x509 through
// this module keeps that order wherever the PKI code is loaded (it is loaded lazily, by the
// commands that need it).
import 'reflect-metadata';

export * from '@peculiar/x509';
