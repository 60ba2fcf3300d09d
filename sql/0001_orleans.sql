-- Orleans runtime tables for the ADO.NET providers (Microsoft.Orleans.*.AdoNet 10.4.2, invariant "Npgsql"):
-- clustering (membership), grain persistence and reminders.
--
-- How the providers use this: at start-up each provider runs the hard-coded, unquoted statement
--   SELECT QueryKey, QueryText FROM OrleansQuery [WHERE QueryKey = '...']
-- and from then on executes only the SQL text stored under each key, binding named parameters
-- (@ServiceId, @DeploymentId, @GrainIdHash, ...) and reading result columns by name (or position,
-- where noted). So the rest of the layout below is ours; only the OrleansQuery table, the query keys,
-- the parameter names and the result column names form the contract.
--
-- Conventions: all timestamps are timestamptz (the providers bind UTC DateTime values with
-- DbType.DateTime, which Npgsql sends as timestamptz). Result columns are aliased with quoted
-- identifiers in exactly the case the providers ask for.

-- ---------------------------------------------------------------------------------------------------
-- Query registry. Must be called OrleansQuery(QueryKey, QueryText): the providers' lookup statement is
-- unquoted, so PostgreSQL folds it to orleansquery(querykey, querytext), which is what this creates.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE OrleansQuery (
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- ---------------------------------------------------------------------------------------------------
-- Clustering (membership)
-- One version row per cluster (ClusterId arrives as @DeploymentId). Every change to the member set or a
-- member's status must bump it, conditional on the version the silo last read: that is the
-- optimistic-concurrency token of the Orleans membership protocol. I-am-alive heartbeats do not bump it.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE orleans_membership_version (
    deployment_id text        NOT NULL PRIMARY KEY,
    version       integer     NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orleans_membership (
    deployment_id   text        NOT NULL REFERENCES orleans_membership_version (deployment_id) ON DELETE CASCADE,
    address         text        NOT NULL,
    port            integer     NOT NULL,
    generation      integer     NOT NULL,
    silo_name       text        NULL,
    host_name       text        NOT NULL,
    status          integer     NOT NULL,     -- Orleans SiloStatus: 3 = Active, 6 = Dead
    proxy_port      integer     NOT NULL,     -- gateway port; 0 when the silo is not a gateway
    suspect_times   text        NULL,         -- provider-formatted "silo,date|silo,date" votes
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

-- Insert a member and bump the table version, but only if the caller's version is still current.
-- The version row is locked first so concurrent writers queue up; after the wait, READ COMMITTED
-- re-checks "version = p_version" against the committed row, so a loser sees no row and gets false.
CREATE FUNCTION orleans_membership_insert(
    p_deployment_id text, p_address text, p_port integer, p_generation integer,
    p_silo_name text, p_host_name text, p_status integer, p_proxy_port integer,
    p_start_time timestamptz, p_i_am_alive_time timestamptz, p_version integer)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM 1 FROM orleans_membership_version
     WHERE deployment_id = p_deployment_id AND version = p_version
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    INSERT INTO orleans_membership (deployment_id, address, port, generation, silo_name, host_name,
                                    status, proxy_port, start_time, i_am_alive_time)
    VALUES (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name,
            p_status, p_proxy_port, p_start_time, p_i_am_alive_time)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;  -- this silo incarnation is already registered; nothing was changed
    END IF;

    UPDATE orleans_membership_version
       SET version = version + 1, updated_at = now()
     WHERE deployment_id = p_deployment_id;
    RETURN true;
END
$fn$;

-- Same pattern for status / suspicion changes of an existing member.
CREATE FUNCTION orleans_membership_update(
    p_deployment_id text, p_address text, p_port integer, p_generation integer,
    p_status integer, p_suspect_times text, p_i_am_alive_time timestamptz, p_version integer)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM 1 FROM orleans_membership_version
     WHERE deployment_id = p_deployment_id AND version = p_version
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE orleans_membership
       SET status = p_status, suspect_times = p_suspect_times, i_am_alive_time = p_i_am_alive_time
     WHERE deployment_id = p_deployment_id AND address = p_address
       AND port = p_port AND generation = p_generation;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE orleans_membership_version
       SET version = version + 1, updated_at = now()
     WHERE deployment_id = p_deployment_id;
    RETURN true;
END
$fn$;

-- ---------------------------------------------------------------------------------------------------
-- Grain persistence
-- A grain's identity is (service, grain type, N0, N1, key extension): integer and Guid keys arrive as
-- N0/N1 plus an optional string extension, string keys as N0 = N1 = 0 plus the string. The two hashes
-- are computed by the provider; they only make the index narrow. The ETag is "version": it starts at
-- 1, increases by one on every write or clear, and every write/clear must name the current version.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE orleans_grain_state (
    service_id      text        NOT NULL,
    grain_type      text        NOT NULL,
    grain_type_hash integer     NOT NULL,
    grain_id_hash   integer     NOT NULL,
    grain_id_n0     bigint      NOT NULL,
    grain_id_n1     bigint      NOT NULL,
    grain_id_ext    text        NULL,
    payload         bytea       NULL,        -- serialized state; NULL after ClearStateAsync
    version         integer     NOT NULL,
    modified_at     timestamptz NOT NULL DEFAULT now()
);

-- NULLS NOT DISTINCT (PostgreSQL 15+): grains without a key extension must still collide, otherwise
-- two racing first writes could both insert and the version check would be bypassed.
CREATE UNIQUE INDEX orleans_grain_state_identity ON orleans_grain_state
    (grain_id_hash, grain_type_hash, service_id, grain_id_n0, grain_id_n1, grain_type, grain_id_ext)
    NULLS NOT DISTINCT;

-- Returns the new version, or NULL when the caller's version is stale (someone else wrote first, or
-- the caller believes the row is new but it exists). The provider turns a NULL/empty result into an
-- InconsistentStateException.
CREATE FUNCTION orleans_grain_state_write(
    p_service_id text, p_grain_type text, p_grain_type_hash integer, p_grain_id_hash integer,
    p_grain_id_n0 bigint, p_grain_id_n1 bigint, p_grain_id_ext text,
    p_expected_version integer, p_payload bytea)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    v_new integer;
BEGIN
    IF p_expected_version IS NULL THEN
        -- First write as far as the grain knows. DO NOTHING (not an exception) on a duplicate, so the
        -- conflict reaches the provider as a version mismatch rather than as a database error.
        INSERT INTO orleans_grain_state (service_id, grain_type, grain_type_hash, grain_id_hash,
                                         grain_id_n0, grain_id_n1, grain_id_ext, payload, version)
        VALUES (p_service_id, p_grain_type, p_grain_type_hash, p_grain_id_hash,
                p_grain_id_n0, p_grain_id_n1, p_grain_id_ext, p_payload, 1)
        ON CONFLICT DO NOTHING
        RETURNING version INTO v_new;
    ELSE
        UPDATE orleans_grain_state
           SET payload = p_payload, version = version + 1, modified_at = now()
         WHERE grain_id_hash = p_grain_id_hash AND grain_type_hash = p_grain_type_hash
           AND service_id = p_service_id AND grain_id_n0 = p_grain_id_n0 AND grain_id_n1 = p_grain_id_n1
           AND grain_type = p_grain_type AND grain_id_ext IS NOT DISTINCT FROM p_grain_id_ext
           AND version = p_expected_version
        RETURNING version INTO v_new;
    END IF;
    RETURN v_new;
END
$fn$;

-- ClearStateAsync with DeleteStateOnClear = false: keep the row (and its version history) but drop the
-- payload, so a later first write by a stale activation still conflicts.
CREATE FUNCTION orleans_grain_state_clear(
    p_service_id text, p_grain_type text, p_grain_type_hash integer, p_grain_id_hash integer,
    p_grain_id_n0 bigint, p_grain_id_n1 bigint, p_grain_id_ext text, p_expected_version integer)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    v_new integer;
BEGIN
    UPDATE orleans_grain_state
       SET payload = NULL, version = version + 1, modified_at = now()
     WHERE grain_id_hash = p_grain_id_hash AND grain_type_hash = p_grain_type_hash
       AND service_id = p_service_id AND grain_id_n0 = p_grain_id_n0 AND grain_id_n1 = p_grain_id_n1
       AND grain_type = p_grain_type AND grain_id_ext IS NOT DISTINCT FROM p_grain_id_ext
       AND version = p_expected_version          -- NULL expected version never matches: conflict
    RETURNING version INTO v_new;
    RETURN v_new;
END
$fn$;

-- ClearStateAsync with DeleteStateOnClear = true: remove the row. The provider still checks the
-- returned value against the ETag it sent, so report "deleted version + 1" on success.
CREATE FUNCTION orleans_grain_state_delete(
    p_service_id text, p_grain_type text, p_grain_type_hash integer, p_grain_id_hash integer,
    p_grain_id_n0 bigint, p_grain_id_n1 bigint, p_grain_id_ext text, p_expected_version integer)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    v_new integer;
BEGIN
    DELETE FROM orleans_grain_state
     WHERE grain_id_hash = p_grain_id_hash AND grain_type_hash = p_grain_type_hash
       AND service_id = p_service_id AND grain_id_n0 = p_grain_id_n0 AND grain_id_n1 = p_grain_id_n1
       AND grain_type = p_grain_type AND grain_id_ext IS NOT DISTINCT FROM p_grain_id_ext
       AND version = p_expected_version
    RETURNING version + 1 INTO v_new;
    RETURN v_new;
END
$fn$;

-- ---------------------------------------------------------------------------------------------------
-- Reminders
-- Keyed by the full GrainId string. grain_hash is GrainId.GetUniformHashCode() reinterpreted as a
-- signed int; the reminder service reads ring ranges (begin, end] of it.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE orleans_reminder (
    service_id    text        NOT NULL,
    grain_id      text        NOT NULL,
    reminder_name text        NOT NULL,
    grain_hash    integer     NOT NULL,
    start_time    timestamptz NOT NULL,
    period_ms     bigint      NOT NULL,  -- bigint: periods beyond ~24.8 days overflow an int of ms
    version       integer     NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);

CREATE INDEX orleans_reminder_ring ON orleans_reminder (service_id, grain_hash);

-- ---------------------------------------------------------------------------------------------------
-- The query texts. Dollar-quoted so that no quote escaping is needed inside.
-- ---------------------------------------------------------------------------------------------------
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Clustering ----------------------------------------------------------------------------------------

-- Called by every silo at start; result is read as a boolean (true = this call created the row).
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO orleans_membership_version (deployment_id) VALUES (@DeploymentId)
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM created);
$q$),

-- Single boolean column.
('InsertMembershipKey', $q$
SELECT orleans_membership_insert(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
                                 @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);
$q$),

-- Single boolean column.
('UpdateMembershipKey', $q$
SELECT orleans_membership_update(@DeploymentId, @Address, @Port, @Generation,
                                 @Status, @SuspectTimes, @IAmAliveTime, @Version);
$q$),

-- Heartbeat only: deliberately does not touch the table version.
('UpdateIAmAlivetimeKey', $q$
UPDATE orleans_membership
   SET i_am_alive_time = @IAmAliveTime
 WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;
$q$),

-- The provider takes the table version from the first row and treats a NULL StartTime as "no member",
-- so the version row is outer-joined to the members: an empty cluster still yields one row.
('MembershipReadAllKey', $q$
SELECT v.version         AS "Version",
       m.address         AS "Address",
       m.port            AS "Port",
       m.generation      AS "Generation",
       m.silo_name       AS "SiloName",
       m.host_name       AS "HostName",
       m.status          AS "Status",
       m.proxy_port      AS "ProxyPort",
       m.suspect_times   AS "SuspectTimes",
       m.start_time      AS "StartTime",
       m.i_am_alive_time AS "IAmAliveTime"
  FROM orleans_membership_version v
  LEFT JOIN orleans_membership m ON m.deployment_id = v.deployment_id
 WHERE v.deployment_id = @DeploymentId;
$q$),

('MembershipReadRowKey', $q$
SELECT v.version         AS "Version",
       m.address         AS "Address",
       m.port            AS "Port",
       m.generation      AS "Generation",
       m.silo_name       AS "SiloName",
       m.host_name       AS "HostName",
       m.status          AS "Status",
       m.proxy_port      AS "ProxyPort",
       m.suspect_times   AS "SuspectTimes",
       m.start_time      AS "StartTime",
       m.i_am_alive_time AS "IAmAliveTime"
  FROM orleans_membership_version v
  LEFT JOIN orleans_membership m
         ON m.deployment_id = v.deployment_id
        AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
 WHERE v.deployment_id = @DeploymentId;
$q$),

-- Used by clients (and silos) to find gateways; @Status is Active (3).
('GatewaysQueryKey', $q$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
  FROM orleans_membership
 WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;
$q$),

-- Cascades to the member rows.
('DeleteMembershipTableEntriesKey', $q$
DELETE FROM orleans_membership_version WHERE deployment_id = @DeploymentId;
$q$),

-- Fallback bulk cleanup (used only if CleanupDefunctSiloEntryKey were absent): non-active members
-- whose last heartbeat is older than the cut-off.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM orleans_membership
 WHERE deployment_id = @DeploymentId AND i_am_alive_time < @IAmAliveTime AND status <> 3;
$q$),

-- Optional key that 10.4.x prefers: the provider picks dead, stale members from a fresh read and deletes
-- each one only if it is still exactly the row it read, so a concurrent status change wins.
('CleanupDefunctSiloEntryKey', $q$
DELETE FROM orleans_membership
 WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
   AND status = 6
   AND start_time = @StartTime AND i_am_alive_time = @IAmAliveTime
   AND suspect_times IS NOT DISTINCT FROM @SuspectTimes;
$q$),

-- Grain persistence ---------------------------------------------------------------------------------

-- Zero rows = never written. A row with NULL payload = cleared; its Version is still the ETag.
('ReadFromStorageKey', $q$
SELECT payload AS "PayloadBinary", version AS "Version"
  FROM orleans_grain_state
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND service_id = @ServiceId AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_type = @GrainTypeString AND grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString;
$q$),

('WriteToStorageKey', $q$
SELECT orleans_grain_state_write(@ServiceId, @GrainTypeString, @GrainTypeHash, @GrainIdHash,
                                 @GrainIdN0, @GrainIdN1, @GrainIdExtensionString,
                                 @GrainStateVersion, @PayloadBinary) AS "NewGrainStateVersion";
$q$),

-- Result is read by position (first column).
('ClearStorageKey', $q$
SELECT orleans_grain_state_clear(@ServiceId, @GrainTypeString, @GrainTypeHash, @GrainIdHash,
                                 @GrainIdN0, @GrainIdN1, @GrainIdExtensionString,
                                 @GrainStateVersion) AS "NewGrainStateVersion";
$q$),

('DeleteStorageKey', $q$
SELECT orleans_grain_state_delete(@ServiceId, @GrainTypeString, @GrainTypeHash, @GrainIdHash,
                                  @GrainIdN0, @GrainIdN1, @GrainIdExtensionString,
                                  @GrainStateVersion) AS "NewGrainStateVersion";
$q$),

-- Reminders -----------------------------------------------------------------------------------------

('ReadReminderRowsKey', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period_ms AS "Period", version AS "Version"
  FROM orleans_reminder
 WHERE service_id = @ServiceId AND grain_id = @GrainId;
$q$),

('ReadReminderRowKey', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period_ms AS "Period", version AS "Version"
  FROM orleans_reminder
 WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;
$q$),

-- Range (begin, end] that does not wrap in signed order (the provider picks this key when
-- (int)begin < (int)end).
('ReadRangeRows1Key', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period_ms AS "Period", version AS "Version"
  FROM orleans_reminder
 WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;
$q$),

-- Wrapping range; begin = end means the whole ring, which this also covers.
('ReadRangeRows2Key', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period_ms AS "Period", version AS "Version"
  FROM orleans_reminder
 WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);
$q$),

-- Reminder registration is last-writer-wins (no ETag passed in); returns the new ETag as "Version".
('UpsertReminderRowKey', $q$
INSERT INTO orleans_reminder AS r (service_id, grain_id, reminder_name, grain_hash, start_time, period_ms, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @GrainHash, @StartTime, @Period, 1)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
   SET grain_hash = EXCLUDED.grain_hash, start_time = EXCLUDED.start_time,
       period_ms = EXCLUDED.period_ms, version = r.version + 1
RETURNING r.version AS "Version";
$q$),

-- Single boolean column: false when the ETag is stale or the reminder is already gone.
('DeleteReminderRowKey', $q$
WITH deleted AS (
    DELETE FROM orleans_reminder
     WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
       AND version = @Version
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM deleted);
$q$),

('DeleteReminderRowsKey', $q$
DELETE FROM orleans_reminder WHERE service_id = @ServiceId;
$q$);
