-- Argo CD health check for multigres.com/v1alpha1 MultigresCluster.
-- Install as resource.customizations.health.multigres.com_MultigresCluster
-- in argocd-cm (see docs/argocd/README.md).
--
-- Progressing  no status yet, or status.observedGeneration < generation;
--              multigres.com/pending-deletion annotation or ReadyForDeletion;
--              phase Progressing or Initializing;
--              Available False while the cluster has cells;
--              GatewayExternalReady / AdminWebExternalReady False;
--              phase Unknown or absent, unless the conditions decide.
-- Degraded     phase Degraded (a Cell, TableGroup or TopoServer is Degraded).
-- Suspended    what would be Healthy, while ImageRolloutPending is True: new
--              images wait for a person to set
--              spec.imageUpdatePolicy.acknowledgedRevision.
-- Healthy      phase Healthy (all children Healthy and current), or phase
--              Unknown/absent with Available True.

-- BEGIN shared helpers
-- Argo CD loads one script per kind, so every multigres.com/<Kind>/health.lua
-- is self-contained and repeats this block verbatim (tests/argocd_health.rs
-- checks that the copies are identical). Argo CD opens only the base, table
-- and a reduced os library for argocd-cm health scripts: no string, no math.
-- The code is plain Lua 5.1 (Argo runs gopher-lua) and never raises an
-- error, whatever the shape of the object.

local function get(t, key)
  if type(t) == "table" then
    return t[key]
  end
  return nil
end

-- A non-empty string, or nil.
local function text(v)
  if type(v) == "string" and v ~= "" then
    return v
  end
  return nil
end

-- A number, or nil (numeric strings are accepted).
local function number(v)
  if type(v) == "number" then
    return v
  end
  if type(v) == "string" then
    return tonumber(v)
  end
  return nil
end

local function result(status, message)
  return { status = status, message = message }
end

-- "a; b" without empty parts.
local function join(a, b)
  if a and b then
    return a .. "; " .. b
  end
  return a or b
end

-- status.conditions as a table type -> condition (first one of each type).
local function conditions_of(status)
  local found = {}
  local list = get(status, "conditions")
  if type(list) ~= "table" then
    return found
  end
  for _, c in ipairs(list) do
    if type(c) == "table" and text(c.type) and found[c.type] == nil then
      found[c.type] = c
    end
  end
  return found
end

local function is_true(c)
  return get(c, "status") == "True"
end

local function is_false(c)
  return get(c, "status") == "False"
end

local function reason_of(c)
  return text(get(c, "reason"))
end

-- A condition as a sentence: its message and reason, else its type and status.
local function explain(c)
  if type(c) ~= "table" then
    return nil
  end
  local message, reason = text(c.message), text(c.reason)
  if message and reason then
    return message .. " (" .. reason .. ")"
  end
  if message then
    return message
  end
  local what = (text(c.type) or "Condition") .. " is " .. (text(c.status) or "Unknown")
  if reason then
    return what .. " (" .. reason .. ")"
  end
  return what
end

-- One of the five phases upstream writes; anything else counts as Unknown.
local function phase_of(status)
  local phase = get(status, "phase")
  if phase == "Healthy" or phase == "Degraded" or phase == "Progressing" or phase == "Initializing" then
    return phase
  end
  return "Unknown"
end

-- Graceful removal: the parent set the multigres.com/pending-deletion
-- annotation, or the object already reports ReadyForDeletion.
local function removal(kind, object, conditions)
  local since = get(get(get(object, "metadata"), "annotations"), "multigres.com/pending-deletion")
  local ready = conditions.ReadyForDeletion
  if since == nil and ready == nil then
    return nil
  end
  local message = kind .. " is being removed"
  if text(since) then
    message = message .. " (pending deletion since " .. since .. ")"
  end
  if ready ~= nil then
    local detail = text(ready.message)
    if detail == nil and is_true(ready) then
      detail = "ready for deletion"
    elseif detail == nil then
      detail = "not ready for deletion yet"
    end
    if reason_of(ready) then
      detail = detail .. " (" .. reason_of(ready) .. ")"
    end
    message = message .. ": " .. detail
  end
  return result("Progressing", message)
end

-- Progressing until the controller has written a status for this generation.
local function stale(object, status)
  local generation = number(get(get(object, "metadata"), "generation"))
  local waiting = "Waiting for the controller to observe generation "
  if type(status) ~= "table" then
    if generation then
      return result("Progressing", waiting .. tostring(generation))
    end
    return result("Progressing", "Waiting for the controller to report status")
  end
  local observed = number(status.observedGeneration)
  if generation and observed and observed < generation then
    return result("Progressing", waiting .. tostring(generation) .. " (status is for generation " .. tostring(observed) .. ")")
  end
  return nil
end
-- END shared helpers

-- Names of the cells status.cells reports as not ready (sorted), and the
-- number of cells it lists.
local function cells_of(status)
  local waiting, count = {}, 0
  local cells = get(status, "cells")
  if type(cells) ~= "table" then
    return waiting, count
  end
  for name, cell in pairs(cells) do
    if type(name) == "string" then
      count = count + 1
      if get(cell, "ready") ~= true then
        table.insert(waiting, name)
      end
    end
  end
  table.sort(waiting)
  return waiting, count
end

-- "postgres: 1/2 shards ready" for every database not fully ready (sorted).
local function databases_of(status)
  local lagging = {}
  local databases = get(status, "databases")
  if type(databases) ~= "table" then
    return lagging
  end
  for name, database in pairs(databases) do
    local ready = number(get(database, "readyShards"))
    local total = number(get(database, "totalShards"))
    if type(name) == "string" and ready and total and ready < total then
      table.insert(lagging, name .. ": " .. tostring(ready) .. "/" .. tostring(total) .. " shards ready")
    end
  end
  table.sort(lagging)
  return lagging
end

-- "base (cells not ready: a, b; postgres: 1/2 shards ready)".
local function with_detail(base, status)
  local detail = nil
  local waiting = cells_of(status)
  if #waiting > 0 then
    detail = "cells not ready: " .. table.concat(waiting, ", ")
  end
  local lagging = databases_of(status)
  if #lagging > 0 then
    detail = join(detail, table.concat(lagging, "; "))
  end
  if detail then
    return base .. " (" .. detail .. ")"
  end
  return base
end

local status = get(obj, "status")
local conditions = conditions_of(status)
local verdict = removal("MultigresCluster", obj, conditions) or stale(obj, status)
if verdict then
  return verdict
end

local phase = phase_of(status)
local message = text(get(status, "message"))
local available = conditions.Available
local rollout = conditions.ImageRolloutPending
local _, cell_count = cells_of(status)
-- Available is False without cells only for an empty cluster: ignore it then.
local unavailable = is_false(available) and cell_count > 0

local external = nil
if is_false(conditions.GatewayExternalReady) then
  external = "External gateway: " .. explain(conditions.GatewayExternalReady)
elseif is_false(conditions.AdminWebExternalReady) then
  external = "External admin web: " .. explain(conditions.AdminWebExternalReady)
end

if phase == "Degraded" then
  return result("Degraded", with_detail(message or "Cluster is degraded", status))
end
if phase == "Progressing" or phase == "Initializing" then
  return result("Progressing", with_detail(message or "Cluster is progressing", status))
end
if unavailable then
  return result("Progressing", with_detail("Not all cells are available", status))
end
if external then
  return result("Progressing", external)
end
local healthy = nil
if phase == "Healthy" then
  healthy = message or "Ready"
elseif is_true(available) and #databases_of(status) == 0 then
  -- Phase Unknown or absent: the conditions decide.
  healthy = "All cells are available"
end
if healthy == nil then
  return result("Progressing", with_detail(message or "Waiting for the controller to report the cluster phase", status))
end
-- The cluster runs the images it recorded; the new ones wait for a person,
-- not for the controller, so Progressing would never end on its own.
if is_true(rollout) then
  return result("Suspended", "Waiting for a person to acknowledge the new images: " .. explain(rollout))
end
return result("Healthy", healthy)
