-- Whether a user is emailed when one of the runs they created ends (when the server has SMTP_URL and
-- the user an email address). On by default, as trackers usually do.
ALTER TABLE "users" ADD COLUMN "notify_run_end" BOOLEAN NOT NULL DEFAULT true;
