-- Where a JSON record's optional keys are (store/json-store.ts): after record and index, the group
-- set, the unique claim, the counts hash and the terms index, each present when `extras` names it
-- ('g', 'u', 'c', 'x').
local function extra_keys(extras)
  local g, u, c, x
  local n = 3
  if string.find(extras, 'g') then g = n; n = n + 1 end
  if string.find(extras, 'u') then u = n; n = n + 1 end
  if string.find(extras, 'c') then c = n; n = n + 1 end
  if string.find(extras, 'x') then x = n end
  return g, u, c, x
end
