-- Steps carry the options their model declares (contracts/api.ts StepSpec): a step's `scale`
-- moves into `options.scale`, and the job-wide `maskMode` of the old records, which only
-- remove-text steps read, moves into their `options.maskMode`.
UPDATE "jobs" SET "record" = ("record" - 'maskMode') || jsonb_build_object('steps', (
  SELECT coalesce(jsonb_agg(
    jsonb_set(step, '{spec}', ((step->'spec') - 'scale') || jsonb_build_object('options',
      CASE WHEN step->'spec'->>'task' = 'remove-text' THEN jsonb_build_object('maskMode', coalesce("record"->>'maskMode', 'both'))
           WHEN step->'spec' ? 'scale' AND (step->'spec'->>'scale')::int <> 1 THEN jsonb_build_object('scale', step->'spec'->'scale')
           ELSE '{}'::jsonb END))
    ORDER BY ordinal), '[]'::jsonb)
  FROM jsonb_array_elements("record"->'steps') WITH ORDINALITY AS steps(step, ordinal)))
WHERE NOT ("record"->'steps'->0->'spec' ? 'options');
