#!/bin/sh
# Databases and roles of the reference layout (compose.yaml), run once by the postgres
# image on an empty data directory. Each database has its own user; the service role
# (hokan_app) is neither superuser nor BYPASSRLS nor the owner: row-level security
# applies to it (ADR 0003). Migrations run as the owner (hokan_owner).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE ROLE hokan_owner LOGIN PASSWORD '${HOKAN_OWNER_PASSWORD}';
CREATE ROLE hokan_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${HOKAN_APP_PASSWORD}';
CREATE ROLE hokan_keyring LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${HOKAN_KEYRING_PASSWORD}';
CREATE ROLE hokan_vault1 LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${HOKAN_VAULT1_PASSWORD}';
CREATE ROLE hokan_vault2 LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${HOKAN_VAULT2_PASSWORD}';
CREATE ROLE hokan_vault3 LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${HOKAN_VAULT3_PASSWORD}';
CREATE DATABASE hokan OWNER hokan_owner;
CREATE DATABASE hokan_keyring OWNER hokan_keyring;
CREATE DATABASE hokan_vault1 OWNER hokan_vault1;
CREATE DATABASE hokan_vault2 OWNER hokan_vault2;
CREATE DATABASE hokan_vault3 OWNER hokan_vault3;
REVOKE ALL ON DATABASE hokan, hokan_keyring, hokan_vault1, hokan_vault2, hokan_vault3 FROM PUBLIC;
GRANT CONNECT ON DATABASE hokan TO hokan_owner, hokan_app;
GRANT CONNECT ON DATABASE hokan_keyring TO hokan_keyring;
GRANT CONNECT ON DATABASE hokan_vault1 TO hokan_vault1;
GRANT CONNECT ON DATABASE hokan_vault2 TO hokan_vault2;
GRANT CONNECT ON DATABASE hokan_vault3 TO hokan_vault3;
SQL
# The service role gets data rights on the system database, now and for tables the
# owner's later migrations create.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname hokan <<SQL
GRANT USAGE ON SCHEMA public TO hokan_app;
ALTER DEFAULT PRIVILEGES FOR ROLE hokan_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO hokan_app;
ALTER DEFAULT PRIVILEGES FOR ROLE hokan_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO hokan_app;
SQL
