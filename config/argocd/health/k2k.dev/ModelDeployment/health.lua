-- Argo CD health of a k2k ModelDeployment, read from the named conditions the operator sets
-- (never from the order of the list). Argo CD runs it without Lua's string library: only `..` here.
-- Ready (every model server pod runs the current spec and has loaded the model) is Healthy. What
-- retrying cannot fix is Stalled and Degraded: a refusal, a failed TrainingJob, an artifact that
-- cannot load, a rollout past its deadline. Everything else (waiting for the TrainingJob, pods
-- starting or loading, a rollout) is Progressing with the Ready reason that says why.
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
local stalled = find("Stalled")
if holds(stalled) then return { status = "Degraded", message = said(stalled) } end
local ready = find("Ready")
if holds(ready) then return { status = "Healthy", message = said(ready) } end
if ready ~= nil then return { status = "Progressing", message = said(ready) } end
return { status = "Progressing", message = "Waiting for the k2k operator to report status" }
