/** What pg-boss's commands (complete, fail, touch, cancel, …) report at run time: its typings leave it empty. */
export interface SettleResponse {
  affected?: number;
  settled?: string[];
}
