-- Where a JSON record's optional keys are (store/json-store.ts): after record and index, the group
-- set, the unique claim and the counts hash, each present when `extras` names it ('g', 'u', 'c').
local function extra_keys(extras)
  local g, u, c
  local n = 3
  if string.find(extras, 'g') then g = n; n = n + 1 end
  if string.find(extras, 'u') then u = n; n = n + 1 end
  if string.find(extras, 'c') then c = n end
  return g, u, c
end
