-- The head of every k2k health script: api/generate.ts writes it before each kind's rules.lua into
-- that kind's health.lua, since Argo CD runs each script alone. Conditions are read by name, never
-- by their place in the list. Argo CD runs health scripts without Lua's string library: only `..`.
local function find(name)
  for _, c in ipairs(obj.status.conditions) do
    if c.type == name then return c end
  end
  return nil
end
local function holds(c) return c ~= nil and c.status == "True" end
local function said(c) return c.reason .. ": " .. c.message end
local waiting = { status = "Progressing", message = "Waiting for the k2k operator to report status" }

-- Not there yet: the Ready condition says why.
local function progressing()
  local ready = find("Ready")
  if ready ~= nil then return { status = "Progressing", message = said(ready) } end
  return waiting
end

-- A kind that runs to an end (TrainingJob, HyperparameterSweep). Finished is final: Succeeded is
-- Healthy and names the artifact it produced (`produced`, or nil), Failed is Degraded; a refusal
-- the operator keeps until someone acts (Stalled) is Degraded; spec.suspend is Suspended.
local function toTheEnd(produced)
  local succeeded = find("Succeeded")
  if holds(succeeded) then
    local message = said(succeeded)
    if produced ~= nil then message = message .. " (" .. produced.uri .. ")" end
    return { status = "Healthy", message = message }
  end
  for _, name in ipairs({ "Failed", "Stalled" }) do
    local c = find(name)
    if holds(c) then return { status = "Degraded", message = said(c) } end
  end
  local suspended = find("Suspended")
  if holds(suspended) then return { status = "Suspended", message = said(suspended) } end
  return progressing()
end

if obj.status == nil or obj.status.conditions == nil then return waiting end
if obj.status.observedGeneration ~= nil and obj.status.observedGeneration ~= obj.metadata.generation then
  return { status = "Progressing", message = "Waiting for the operator to observe generation " .. obj.metadata.generation }
end
