-- Argo CD health check for multigres.com/v1alpha1 Cell.
-- Install as resource.customizations.health.multigres.com_Cell in argocd-cm
-- (see docs/argocd/README.md).
--
-- Progressing  no status yet, or status.observedGeneration < generation;
--              multigres.com/pending-deletion annotation or ReadyForDeletion
--              (the Cell deletes its local TopoServer first);
--              phase Progressing or Initializing (gateway rolling out, local
--              TopoServer not ready: LocalTopoServerNotReady);
--              Available or Ready False (MultigatewayUnavailable,
--              MultigatewayNotReady);
--              phase Unknown or absent, unless the conditions decide.
-- Degraded     phase Degraded (a multigateway pod is crash-looping).
-- Healthy      phase Healthy with neither Available nor Ready False, or phase
--              Unknown/absent with Ready True.

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

local status = get(obj, "status")
local conditions = conditions_of(status)
local verdict = removal("Cell", obj, conditions) or stale(obj, status)
if verdict then
  return verdict
end

local phase = phase_of(status)
local message = text(get(status, "message"))
local available, ready = conditions.Available, conditions.Ready

-- The first of Available and Ready that is False, as a sentence.
local not_ready = nil
if is_false(available) then
  not_ready = explain(available)
elseif is_false(ready) then
  not_ready = explain(ready)
end

-- "Multigateway: 1/2 replicas ready", from the replica counts.
local gateways = nil
local ready_replicas = number(get(status, "gatewayReadyReplicas"))
local replicas = number(get(status, "gatewayReplicas"))
if ready_replicas and replicas then
  gateways = "Multigateway: " .. tostring(ready_replicas) .. "/" .. tostring(replicas) .. " replicas ready"
end

if phase == "Degraded" then
  return result("Degraded", message or not_ready or "Cell is degraded")
end
if phase == "Progressing" or phase == "Initializing" then
  return result("Progressing", message or not_ready or gateways or "Cell is progressing")
end
if not_ready then
  return result("Progressing", not_ready)
end
if phase == "Healthy" then
  return result("Healthy", message or "Ready")
end
-- Phase Unknown or absent: the conditions decide.
if is_true(ready) then
  return result("Healthy", explain(ready))
end
return result("Progressing", gateways or "Waiting for the controller to report the cell phase")
