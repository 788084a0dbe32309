-- Argo CD health check for licensing.licenseops.dev/UserLicense (license-operator).
-- Argo CD key: resource.customizations.health.licensing.licenseops.dev_UserLicense
-- Progressing until the operator has planned the current generation; then
-- Healthy when Ready=True (every license of the user is Active) and Degraded
-- with the Ready message when Ready=False (see status.licenses[].reason).
-- DuplicatePlans=True is a warning: the user stays Healthy and the message
-- says which license is redundant. Base library only: Argo CD runs health
-- checks without the string and os libraries.
local hs = {status = "Progressing", message = "Waiting for license-operator to plan the licenses of this user"}
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
local duplicate = nil
if st.conditions ~= nil then
  for _, c in ipairs(st.conditions) do
    if c.type == "Ready" then
      ready = c
    elseif c.type == "DuplicatePlans" and c.status == "True" then
      duplicate = c
    end
  end
end
if ready == nil or (ready.observedGeneration ~= nil and generation ~= nil and ready.observedGeneration ~= generation) then
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "all licenses are active"
  if duplicate ~= nil then
    hs.message = hs.message .. "; warning: DuplicatePlans: " .. (duplicate.message or "")
  end
elseif ready.status == "False" then
  hs.status = "Degraded"
  hs.message = (ready.reason or "NotReady") .. ": " .. (ready.message or "")
else
  hs.message = ready.message or hs.message
end
return hs
