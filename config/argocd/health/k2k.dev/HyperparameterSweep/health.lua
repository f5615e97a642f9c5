-- Argo CD health of a k2k HyperparameterSweep, read from the named conditions the operator sets
-- (never from the order of the list). Argo CD runs it without Lua's string library: only `..` here.
-- A sweep that ended with a best trial (all trials done, the target reached or the grid exhausted)
-- is Healthy and names where the best model is; one that ended without (too many failed trials,
-- none succeeded) or cannot search (Stalled) is Degraded. A finished sweep stays finished even
-- when suspended afterwards.
local function find(type)
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then return c end
  end
  return nil
end
local function holds(c) return c ~= nil and c.status == "True" end
local function said(c) return c.reason .. ": " .. c.message end

if obj.status == nil or obj.status.conditions == nil then
  return { status = "Progressing", message = "Waiting for the k2k operator to report status" }
end
if obj.status.observedGeneration ~= nil and obj.status.observedGeneration ~= obj.metadata.generation then
  return { status = "Progressing", message = "Waiting for the operator to observe generation " .. obj.metadata.generation }
end
local succeeded = find("Succeeded")
if holds(succeeded) then
  local hs = { status = "Healthy", message = said(succeeded) }
  local best = obj.status.bestTrial
  if best ~= nil and best.artifact ~= nil then hs.message = hs.message .. " (" .. best.artifact.uri .. ")" end
  return hs
end
local failed = find("Failed")
if holds(failed) then return { status = "Degraded", message = said(failed) } end
local stalled = find("Stalled")
if holds(stalled) then return { status = "Degraded", message = said(stalled) } end
local suspended = find("Suspended")
if holds(suspended) then return { status = "Suspended", message = said(suspended) } end
local ready = find("Ready")
if ready ~= nil then return { status = "Progressing", message = said(ready) } end
return { status = "Progressing", message = "Waiting for the k2k operator to report status" }
