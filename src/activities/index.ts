/**
 * The loop's activities, bound to this worker's reports folder. The workflow imports only the type.
 */
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { deployIn, rollbackTo, type DeployInput, type RollbackInput } from './deploy';
import { diagnoseIn, type DiagnoseInput } from './diagnose';
import { typed } from './failures';
import { notifyTeam, type NotifyInput } from './notify';
import { loopDir, removeWorkDir, writeFileAtomic } from './paths';
import { runSuiteIn, type SuiteRunInput } from './suite';
import { verifyHealth, type VerifyInput } from './verify';

export interface ActivityDeps {
  /** Absolute path of the reports folder (shared by every worker of the task queue). */
  reportsDir: string;
}

export function createActivities({ reportsDir }: ActivityDeps) {
  return {
    runSuite: (input: SuiteRunInput) => typed(() => runSuiteIn(reportsDir, input)),
    diagnose: (input: DiagnoseInput) => typed(() => diagnoseIn(reportsDir, input)),
    deploy: (input: DeployInput) => typed(() => deployIn(reportsDir, input)),
    rollback: (input: RollbackInput) => typed(() => rollbackTo(input)),
    verify: (input: VerifyInput) => typed(() => verifyHealth(input)),
    notify: (input: NotifyInput) => typed(() => notifyTeam(input)),
    /** Writes the loop's report (Markdown) next to its cycles, at the loop's end; returns the path. */
    saveReport: async (markdown: string): Promise<string> => {
      const { workflowId } = Context.current().info.workflowExecution!;
      const path = join(loopDir(reportsDir, workflowId), 'loop-report.md');
      writeFileAtomic(path, markdown);
      removeWorkDir(workflowId);
      return path;
    },
  };
}

export type LoopActivities = ReturnType<typeof createActivities>;
