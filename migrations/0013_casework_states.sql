-- 0013: the states of casework by people (docs/casework.md). Alone in its file because
-- PostgreSQL cannot use a new enum value in the transaction that adds it; 0014 uses them.
--   signoff       held for the people of the case's task force at its level, waiting
--                 for one of them to sign it off (签收); the sign-off clock runs
--   working       signed off, being worked (办理中); the solution clock runs
--   suspended     waiting on the enterprise (挂起): the solution clock is paused, with a
--                 reason and a bounded resume time
--   cohandling    the lead asked other task forces for parts of the answer (协办) and
--                 cannot answer before they all replied
--   answered      answered to the enterprise (答复); a callback is scheduled
--   callback_due  the callback (回访) is due: an operator calls the enterprise back
--   closed        the callback found the enterprise satisfied or basically satisfied (办结)
--   redo          the callback found it unsatisfied (重办): new clocks, same task force,
--                 waiting for sign-off again
ALTER TYPE public.case_state ADD VALUE IF NOT EXISTS 'signoff';
ALTER TYPE public.case_state ADD VALUE IF NOT EXISTS 'working';
ALTER TYPE public.case_state ADD VALUE IF NOT EXISTS 'suspended';
ALTER TYPE public.case_state ADD VALUE IF NOT EXISTS 'cohandling';
ALTER TYPE public.case_state ADD VALUE IF NOT EXISTS 'answered';
ALTER TYPE public.case_state ADD VALUE IF NOT EXISTS 'callback_due';
ALTER TYPE public.case_state ADD VALUE IF NOT EXISTS 'closed';
ALTER TYPE public.case_state ADD VALUE IF NOT EXISTS 'redo';
