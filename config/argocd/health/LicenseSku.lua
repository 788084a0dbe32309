-- Argo CD health check for licensing.licenseops.dev/LicenseSku (license-operator).
-- Argo CD key: resource.customizations.health.licensing.licenseops.dev_LicenseSku
-- Progressing until the operator has planned the current generation; then
-- Healthy when Ready=True (every request has a seat) and Degraded with the
-- Ready message when Ready=False (users wait for seats, overallocated, or
-- every subscription suspended). Base library only: Argo CD runs health
-- checks without the string and os libraries.
local hs = {status = "Progressing", message = "Waiting for license-operator to count the seats of this SKU"}
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
if st.conditions ~= nil then
  for _, c in ipairs(st.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end
if ready == nil or (ready.observedGeneration ~= nil and generation ~= nil and ready.observedGeneration ~= generation) then
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "all requests have a seat"
elseif ready.status == "False" then
  hs.status = "Degraded"
  hs.message = (ready.reason or "NotReady") .. ": " .. (ready.message or "")
else
  hs.message = ready.message or hs.message
end
return hs
