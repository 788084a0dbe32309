-- Argo CD health check for licensing.licenseops.dev/LicenseGroup (license-operator).
-- In Argo CD's layout (resource_customizations/<group>/<Kind>/health.lua,
-- with health_test.yaml and testdata/), so it can be contributed upstream;
-- config/argocd/argocd-cm.yaml carries the same script under the key
-- resource.customizations.health.licensing.licenseops.dev_LicenseGroup.
-- Progressing until the operator has planned the current generation
-- (status.observedGeneration and the Ready condition's); then Degraded with
-- the condition's reason and message when Stalled=True (it cannot progress
-- until a spec changes: an unknown service plan or an invalid selector) or
-- Ready=False (members with failed licenses, or members without a
-- UserLicense); Healthy when Ready=True (every member holds every license of
-- the group). Base library only: Argo CD runs health checks without the
-- string and os libraries.
local hs = {status = "Progressing", message = "Waiting for license-operator to resolve the members of this group"}
local generation = obj.metadata.generation
local st = obj.status
if st == nil or st.observedGeneration == nil then
  return hs
end
if generation ~= nil and st.observedGeneration ~= generation then
  hs.message = "Waiting for license-operator to plan generation " .. generation .. " (status is of generation " .. st.observedGeneration .. ")"
  return hs
end
local ready = nil
local stalled = nil
if st.conditions ~= nil then
  for _, c in ipairs(st.conditions) do
    if c.type == "Ready" then
      ready = c
    elseif c.type == "Stalled" and c.status == "True" then
      stalled = c
    end
  end
end
if ready == nil or (ready.observedGeneration ~= nil and generation ~= nil and ready.observedGeneration ~= generation) then
  return hs
end
if stalled ~= nil and (stalled.observedGeneration == nil or generation == nil or stalled.observedGeneration == generation) then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. (stalled.message or "")
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "every member holds every license of the group"
elseif ready.status == "False" then
  hs.status = "Degraded"
  hs.message = (ready.reason or "NotReady") .. ": " .. (ready.message or "")
else
  hs.message = ready.message or hs.message
end
return hs
